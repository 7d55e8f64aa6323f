//! The protocol's frames as JSON text, for the page: the same serde types as the postcard
//! frames, so both codecs carry exactly the same requests and events.

use chat_wire::{ClientFrame, ServerFrame};

/// A frame the page sent, or why it is not one.
pub fn decode_client(text: &str) -> Result<ClientFrame, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

pub fn encode_server(frame: &ServerFrame) -> Result<String, String> {
    serde_json::to_string(frame).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use chat_wire::{
        Event, Hello, MAGIC, PROTOCOL_VERSION, Reply, Request, WireChange, WireMember, WireMessage,
        WireNotice, WireRecipient, WireRole,
    };

    use super::*;

    #[test]
    fn the_page_speaks_the_same_frames_as_json() {
        let hello = decode_client(r#"{"Hello":{"magic":[67,72,65,84],"version":1}}"#);
        assert_eq!(
            hello,
            Ok(ClientFrame::Hello(Hello {
                magic: MAGIC,
                version: PROTOCOL_VERSION
            }))
        );
        let send = decode_client(
            r#"{"Request":{"id":3,"request":{"Send":{"client_message_id":9,"to":{"User":"bob"},"body":"<b>hi</b>"}}}}"#,
        );
        assert_eq!(
            send,
            Ok(ClientFrame::Request {
                id: 3,
                request: Request::Send {
                    client_message_id: 9,
                    to: WireRecipient::User("bob".into()),
                    body: "<b>hi</b>".into()
                }
            })
        );
        let event = ServerFrame::Event(Event::Message(WireMessage {
            id: 7,
            from: "alice".into(),
            to: WireRecipient::Group("team".into()),
            body: "x".into(),
            sent_at_ms: 1,
        }));
        assert_eq!(
            encode_server(&event).as_deref(),
            Ok(
                r#"{"Event":{"Message":{"id":7,"from":"alice","to":{"Group":"team"},"body":"x","sent_at_ms":1}}}"#
            )
        );
        assert!(decode_client("{not json").is_err());
        assert!(decode_client(r#"{"Request":{"id":1}}"#).is_err());
    }

    /// The page's group tools: each request and answer as docs/protocol.md section 8 shows it.
    #[test]
    fn the_group_requests_and_answers_of_the_page_as_json() {
        let group = || "team".to_string();
        let bob = || "bob".to_string();
        for (json, request) in [
            (
                r#""Members":{"group":"team"}"#,
                Request::Members { group: group() },
            ),
            (
                r#""Invite":{"group":"team","user":"bob"}"#,
                Request::Invite {
                    group: group(),
                    user: bob(),
                },
            ),
            (
                r#""Kick":{"group":"team","user":"bob"}"#,
                Request::Kick {
                    group: group(),
                    user: bob(),
                },
            ),
            (
                r#""Leave":{"group":"team"}"#,
                Request::Leave { group: group() },
            ),
            (
                r#""MakeAdmin":{"group":"team","user":"bob"}"#,
                Request::MakeAdmin {
                    group: group(),
                    user: bob(),
                },
            ),
            (
                r#""SetOwner":{"group":"team","user":"bob"}"#,
                Request::SetOwner {
                    group: group(),
                    user: bob(),
                },
            ),
        ] {
            let text = format!(r#"{{"Request":{{"id":4,"request":{{{json}}}}}}}"#);
            assert_eq!(
                decode_client(&text),
                Ok(ClientFrame::Request { id: 4, request }),
                "{text}"
            );
        }
        let members = ServerFrame::Reply {
            id: 4,
            reply: Reply::Members(vec![WireMember {
                username: bob(),
                role: WireRole::Admin,
                online: true,
            }]),
        };
        assert_eq!(
            encode_server(&members).as_deref(),
            Ok(
                r#"{"Reply":{"id":4,"reply":{"Members":[{"username":"bob","role":"Admin","online":true}]}}}"#
            )
        );
        let notice = |change| {
            Reply::GroupChanged(Some(WireNotice {
                id: 9,
                group: group(),
                actor: "alice".into(),
                change,
                at_ms: 1,
            }))
        };
        for (reply, json) in [
            (
                notice(WireChange::Removed { user: bob() }),
                r#"{"GroupChanged":{"id":9,"group":"team","actor":"alice","change":{"Removed":{"user":"bob"}},"at_ms":1}}"#,
            ),
            (
                notice(WireChange::Left),
                r#"{"GroupChanged":{"id":9,"group":"team","actor":"alice","change":"Left","at_ms":1}}"#,
            ),
            (Reply::GroupChanged(None), r#"{"GroupChanged":null}"#),
        ] {
            let frame = ServerFrame::Reply { id: 5, reply };
            let expected = format!(r#"{{"Reply":{{"id":5,"reply":{json}}}}}"#);
            assert_eq!(encode_server(&frame), Ok(expected));
        }
    }
}
