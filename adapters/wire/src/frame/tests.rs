//! Framing tests: pinned bytes (an accidental format change fails here first), round-trips,
//! split-anywhere decoding, the size limit, and arbitrary bytes never panicking.

use proptest::prelude::*;

use super::*;
use crate::protocol::*;

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn frame_hex<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    encode_frame(value, FRAME_BYTES_MAX, &mut out).unwrap();
    hex(&out)
}

fn user(name: &str) -> WireRecipient {
    WireRecipient::User(name.into())
}

#[test]
fn pinned_bytes_of_client_frames() {
    let hello = ClientFrame::Hello(Hello {
        magic: MAGIC,
        version: PROTOCOL_VERSION,
    });
    assert_eq!(frame_hex(&hello), "00 00 00 06 00 43 48 41 54 01");

    let send = ClientFrame::Request {
        id: 1,
        request: Request::Send {
            client_message_id: 1,
            to: user("bob"),
            body: "hi".into(),
        },
    };
    assert_eq!(
        frame_hex(&send),
        "00 00 00 0c 01 01 02 01 00 03 62 6f 62 02 68 69"
    );

    let history = ClientFrame::Request {
        id: 2,
        request: Request::History {
            with: user("bob"),
            before: Some(10),
            limit: None,
        },
    };
    assert_eq!(
        frame_hex(&history),
        "00 00 00 0b 01 02 03 00 03 62 6f 62 01 0a 00"
    );

    let login = ClientFrame::Request {
        id: 300,
        request: Request::LogIn {
            username: "al".into(),
            password: "pw".into(),
        },
    };
    // 300 is the varint ac 02.
    assert_eq!(
        frame_hex(&login),
        "00 00 00 0a 01 ac 02 01 02 61 6c 02 70 77"
    );

    let quit = ClientFrame::Request {
        id: 3,
        request: Request::Quit,
    };
    assert_eq!(frame_hex(&quit), "00 00 00 03 01 03 05");

    let create = ClientFrame::Request {
        id: 5,
        request: Request::CreateGroup {
            group: "team".into(),
            members: vec!["bob".into()],
        },
    };
    assert_eq!(
        frame_hex(&create),
        "00 00 00 0d 01 05 06 04 74 65 61 6d 01 03 62 6f 62"
    );

    let to_group = ClientFrame::Request {
        id: 7,
        request: Request::Send {
            client_message_id: 2,
            to: WireRecipient::Group("team".into()),
            body: "hi".into(),
        },
    };
    assert_eq!(
        frame_hex(&to_group),
        "00 00 00 0d 01 07 02 02 01 04 74 65 61 6d 02 68 69"
    );

    let groups = ClientFrame::Request {
        id: 6,
        request: Request::Groups,
    };
    assert_eq!(frame_hex(&groups), "00 00 00 03 01 06 0d");

    let resend = ClientFrame::Request {
        id: 8,
        request: Request::Resend {
            client_message_id: 300,
            to: WireRecipient::User("bob".into()),
            body: "hi".into(),
        },
    };
    assert_eq!(
        frame_hex(&resend),
        "00 00 00 0d 01 08 0e ac 02 00 03 62 6f 62 02 68 69"
    );

    let conversations = ClientFrame::Request {
        id: 9,
        request: Request::Conversations,
    };
    assert_eq!(frame_hex(&conversations), "00 00 00 03 01 09 0f");
    let mark_read = ClientFrame::Request {
        id: 10,
        request: Request::MarkRead {
            with: WireRecipient::User("bob".into()),
            up_to: 300,
        },
    };
    assert_eq!(
        frame_hex(&mark_read),
        "00 00 00 0a 01 0a 10 00 03 62 6f 62 ac 02"
    );
    let catch_up = ClientFrame::Request {
        id: 11,
        request: Request::CatchUp {
            after: 5,
            limit: None,
        },
    };
    assert_eq!(frame_hex(&catch_up), "00 00 00 05 01 0b 11 05 00");
}

#[test]
fn pinned_bytes_of_server_frames() {
    let welcome = ServerFrame::Welcome {
        version: 1,
        frame_bytes_max: 65536,
    };
    assert_eq!(frame_hex(&welcome), "00 00 00 05 00 01 80 80 04");
    let read = ServerFrame::Event(Event::Read {
        with: WireRecipient::Group("team".into()),
        up_to: 8,
    });
    assert_eq!(frame_hex(&read), "00 00 00 09 02 03 01 04 74 65 61 6d 08");
    let marked = ServerFrame::Reply {
        id: 10,
        reply: Reply::Marked { up_to: Some(8) },
    };
    assert_eq!(frame_hex(&marked), "00 00 00 05 01 0a 0c 01 08");
    let conversations = ServerFrame::Reply {
        id: 9,
        reply: Reply::Conversations(InboxPage {
            conversations: vec![WireConversation {
                with: WireRecipient::User("bob".into()),
                last: None,
                unread: 2,
                read_up_to: Some(7),
            }],
            complete: true,
        }),
    };
    assert_eq!(
        frame_hex(&conversations),
        "00 00 00 0e 01 09 0b 01 00 03 62 6f 62 00 02 01 07 01"
    );

    let sent = ServerFrame::Reply {
        id: 1,
        reply: Reply::Sent {
            message_id: 42,
            sent_at_ms: 1_700_000_000_000,
        },
    };
    // i64 is zigzag then varint: 1,700,000,000,000 becomes 3,400,000,000,000.
    assert_eq!(
        frame_hex(&sent),
        "00 00 00 0a 01 01 02 2a 80 a0 ab fe f9 62"
    );

    let delivered = ServerFrame::Event(Event::Message(WireMessage {
        id: 5,
        from: "alice".into(),
        to: user("bob"),
        body: "hi".into(),
        sent_at_ms: -1,
    }));
    assert_eq!(
        frame_hex(&delivered),
        "00 00 00 12 02 00 05 05 61 6c 69 63 65 00 03 62 6f 62 02 68 69 01"
    );

    let error = ServerFrame::Reply {
        id: 9,
        reply: Reply::Error(ErrorBody::new("usage", "U")),
    };
    assert_eq!(
        frame_hex(&error),
        "00 00 00 0b 01 09 06 05 75 73 61 67 65 01 55"
    );

    let page = ServerFrame::Reply {
        id: 4,
        reply: Reply::History(HistoryPage {
            messages: vec![],
            has_more: false,
            limit: 500,
            clamped: true,
        }),
    };
    assert_eq!(frame_hex(&page), "00 00 00 08 01 04 03 00 00 f4 03 01");

    let closing = ServerFrame::Closing(ErrorBody::new("bad", ""));
    assert_eq!(frame_hex(&closing), "00 00 00 06 03 03 62 61 64 00");
    assert_eq!(
        frame_hex(&ServerFrame::Event(Event::Ping)),
        "00 00 00 02 02 01"
    );

    let notice = ServerFrame::Event(Event::Notice(WireNotice {
        id: 8,
        group: "team".into(),
        actor: "alice".into(),
        change: WireChange::Joined { user: "bob".into() },
        at_ms: 0,
    }));
    assert_eq!(
        frame_hex(&notice),
        "00 00 00 14 02 02 08 04 74 65 61 6d 05 61 6c 69 63 65 01 03 62 6f 62 00"
    );

    let ended = ServerFrame::Reply {
        id: 2,
        reply: Reply::GroupChanged(None),
    };
    assert_eq!(frame_hex(&ended), "00 00 00 04 01 02 07 00");

    let members = ServerFrame::Reply {
        id: 3,
        reply: Reply::Members(vec![WireMember {
            username: "bob".into(),
            role: WireRole::Admin,
            online: true,
        }]),
    };
    assert_eq!(
        frame_hex(&members),
        "00 00 00 0a 01 03 08 01 03 62 6f 62 01 01"
    );
}

fn sample_client_frames() -> Vec<ClientFrame> {
    vec![
        ClientFrame::Hello(Hello {
            magic: MAGIC,
            version: 1,
        }),
        ClientFrame::Request {
            id: 1,
            request: Request::Register {
                username: "alice".into(),
                password: "correct horse".into(),
            },
        },
        ClientFrame::Request {
            id: 2,
            request: Request::Send {
                client_message_id: u64::MAX,
                to: user("bob"),
                body: "héllo 😀\nworld".into(),
            },
        },
        ClientFrame::Request {
            id: u32::MAX,
            request: Request::History {
                with: user("bob"),
                before: None,
                limit: Some(20),
            },
        },
        ClientFrame::Request {
            id: 5,
            request: Request::Ping,
        },
    ]
}

fn encode_all(frames: &[ClientFrame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        encode_frame(frame, FRAME_BYTES_MAX, &mut out).unwrap();
    }
    out
}

fn decode_all(decoder: &mut FrameDecoder) -> Vec<ClientFrame> {
    let mut frames = Vec::new();
    while let Some(frame) = decoder.next_frame::<ClientFrame>().unwrap() {
        frames.push(frame);
    }
    frames
}

#[test]
fn many_frames_in_one_read() {
    let frames = sample_client_frames();
    let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
    decoder.push(&encode_all(&frames));
    assert_eq!(decode_all(&mut decoder), frames);
    assert_eq!(decoder.buffered_bytes(), 0);
}

#[test]
fn one_byte_at_a_time() {
    let frames = sample_client_frames();
    let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
    let mut decoded = Vec::new();
    for byte in encode_all(&frames) {
        decoder.push(&[byte]);
        decoded.extend(decode_all(&mut decoder));
    }
    assert_eq!(decoded, frames);
}

#[test]
fn an_oversized_length_is_refused_from_the_prefix_alone() {
    let mut decoder = FrameDecoder::new(1024);
    decoder.push(&[0x00, 0x00, 0x04]);
    assert_eq!(decoder.next_payload(), Ok(None));
    decoder.push(&[0x01]);
    assert_eq!(
        decoder.next_payload(),
        Err(DecodeError::TooLarge {
            declared_bytes: 1025,
            frame_bytes_max: 1024
        })
    );
    // The largest length a prefix can hold is refused the same way, with nothing allocated for it.
    let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
    decoder.push(&[0xff; 4]);
    let err = decoder.next_payload().unwrap_err();
    assert_eq!(err.code(), "frame_too_large");
    assert!(
        decoder.buffer.capacity() < 64,
        "{}",
        decoder.buffer.capacity()
    );
}

#[test]
fn exactly_the_maximum_is_accepted() {
    let mut out = Vec::new();
    let body = vec![7u8; 100];
    // A Vec<u8> of 100 costs 1 length byte + 100.
    encode_frame(&body, 101, &mut out).unwrap();
    let mut decoder = FrameDecoder::new(101);
    decoder.push(&out);
    assert_eq!(decoder.next_frame::<Vec<u8>>(), Ok(Some(body.clone())));
    let mut refused = Vec::new();
    assert_eq!(
        encode_frame(&body, 100, &mut refused),
        Err(EncodeError::TooLarge {
            payload_bytes: 101,
            frame_bytes_max: 100
        })
    );
    assert!(refused.is_empty(), "a refused frame leaves nothing behind");
}

#[test]
fn a_malformed_frame_is_reported_and_the_next_one_still_decodes() {
    let mut bytes = vec![0, 0, 0, 2, 0x09, 0x00]; // variant 9 does not exist
    bytes.extend(encode_all(&sample_client_frames()[..1]));
    let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
    decoder.push(&bytes);
    let err = decoder.next_frame::<ClientFrame>().unwrap_err();
    assert_eq!(err.code(), "bad_frame");
    assert_eq!(decode_all(&mut decoder), sample_client_frames()[..1]);
}

#[test]
fn trailing_bytes_inside_a_frame_are_refused() {
    // A valid Ping request followed by one stray byte, all inside one frame.
    let bytes = [0, 0, 0, 4, 0x01, 0x05, 0x04, 0xff];
    let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
    decoder.push(&bytes);
    assert_eq!(
        decoder.next_frame::<ClientFrame>(),
        Err(DecodeError::TrailingBytes { extra_bytes: 1 })
    );
}

#[test]
fn an_empty_payload_is_malformed() {
    let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
    decoder.push(&[0, 0, 0, 0]);
    assert!(matches!(
        decoder.next_frame::<ClientFrame>(),
        Err(DecodeError::Malformed(_))
    ));
}

fn arb_recipient() -> impl Strategy<Value = WireRecipient> {
    prop_oneof![
        any::<String>().prop_map(WireRecipient::User),
        any::<String>().prop_map(WireRecipient::Group),
    ]
}

fn arb_group_request() -> impl Strategy<Value = Request> {
    let pair = || (any::<String>(), any::<String>());
    prop_oneof![
        (
            any::<String>(),
            proptest::collection::vec(any::<String>(), 0..4)
        )
            .prop_map(|(group, members)| Request::CreateGroup { group, members }),
        pair().prop_map(|(group, user)| Request::Invite { group, user }),
        pair().prop_map(|(group, user)| Request::Kick { group, user }),
        pair().prop_map(|(group, user)| Request::SetOwner { group, user }),
        pair().prop_map(|(group, user)| Request::MakeAdmin { group, user }),
        any::<String>().prop_map(|group| Request::Leave { group }),
        any::<String>().prop_map(|group| Request::Members { group }),
        Just(Request::Groups),
        (any::<u64>(), arb_recipient(), any::<String>()).prop_map(
            |(client_message_id, to, body)| Request::Resend {
                client_message_id,
                to,
                body
            }
        ),
    ]
}

fn arb_role() -> impl Strategy<Value = WireRole> {
    prop_oneof![
        Just(WireRole::Member),
        Just(WireRole::Admin),
        Just(WireRole::Owner)
    ]
}

fn arb_notice() -> impl Strategy<Value = WireNotice> {
    let change = prop_oneof![
        proptest::collection::vec(any::<String>(), 0..4)
            .prop_map(|members| WireChange::Created { members }),
        any::<String>().prop_map(|user| WireChange::Joined { user }),
        Just(WireChange::Left),
        any::<String>().prop_map(|user| WireChange::Removed { user }),
        any::<String>().prop_map(|user| WireChange::NewOwner { user }),
        any::<String>().prop_map(|user| WireChange::NewAdmin { user }),
    ];
    (
        any::<u64>(),
        any::<String>(),
        any::<String>(),
        change,
        any::<i64>(),
    )
        .prop_map(|(id, group, actor, change, at_ms)| WireNotice {
            id,
            group,
            actor,
            change,
            at_ms,
        })
}

fn arb_group_reply() -> impl Strategy<Value = Reply> {
    let member =
        (any::<String>(), arb_role(), any::<bool>()).prop_map(|(username, role, online)| {
            WireMember {
                username,
                role,
                online,
            }
        });
    let group = (any::<String>(), arb_role()).prop_map(|(name, role)| WireGroup { name, role });
    let entry = prop_oneof![
        arb_message().prop_map(WireEntry::Message),
        arb_notice().prop_map(WireEntry::Notice),
    ];
    prop_oneof![
        proptest::option::of(arb_notice()).prop_map(Reply::GroupChanged),
        proptest::collection::vec(member, 0..4).prop_map(Reply::Members),
        proptest::collection::vec(group, 0..4).prop_map(Reply::Groups),
        (
            proptest::collection::vec(entry, 0..4),
            any::<bool>(),
            any::<u32>(),
            any::<bool>()
        )
            .prop_map(|(entries, has_more, limit, clamped)| Reply::Timeline(
                TimelinePage {
                    entries,
                    has_more,
                    limit,
                    clamped
                }
            )),
    ]
}

fn arb_entry() -> impl Strategy<Value = WireEntry> {
    prop_oneof![
        arb_message().prop_map(WireEntry::Message),
        arb_notice().prop_map(WireEntry::Notice),
    ]
}

fn arb_inbox_reply() -> impl Strategy<Value = Reply> {
    let conversation = (
        arb_recipient(),
        proptest::option::of(arb_entry()),
        any::<u32>(),
        any::<Option<u64>>(),
    )
        .prop_map(|(with, last, unread, read_up_to)| WireConversation {
            with,
            last,
            unread,
            read_up_to,
        });
    prop_oneof![
        (proptest::collection::vec(conversation, 0..4), any::<bool>()).prop_map(
            |(conversations, complete)| Reply::Conversations(InboxPage {
                conversations,
                complete
            })
        ),
        any::<Option<u64>>().prop_map(|up_to| Reply::Marked { up_to }),
        (
            proptest::collection::vec(arb_entry(), 0..4),
            any::<bool>(),
            any::<u32>(),
            any::<bool>()
        )
            .prop_map(|(entries, has_more, limit, clamped)| Reply::CaughtUp(
                TimelinePage {
                    entries,
                    has_more,
                    limit,
                    clamped
                }
            )),
    ]
}

fn arb_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<String>(), any::<String>())
            .prop_map(|(username, password)| Request::Register { username, password }),
        (any::<String>(), any::<String>())
            .prop_map(|(username, password)| Request::LogIn { username, password }),
        (any::<u64>(), arb_recipient(), any::<String>()).prop_map(
            |(client_message_id, to, body)| Request::Send {
                client_message_id,
                to,
                body
            }
        ),
        (arb_recipient(), any::<Option<u64>>(), any::<Option<u32>>()).prop_map(
            |(with, before, limit)| Request::History {
                with,
                before,
                limit
            }
        ),
        Just(Request::Ping),
        Just(Request::Quit),
        arb_group_request(),
        Just(Request::Conversations),
        (arb_recipient(), any::<u64>()).prop_map(|(with, up_to)| Request::MarkRead { with, up_to }),
        (any::<u64>(), any::<Option<u32>>())
            .prop_map(|(after, limit)| Request::CatchUp { after, limit }),
    ]
}

fn arb_client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(magic, version)| ClientFrame::Hello(Hello { magic, version })),
        (any::<u32>(), arb_request())
            .prop_map(|(id, request)| ClientFrame::Request { id, request }),
    ]
}

fn arb_message() -> impl Strategy<Value = WireMessage> {
    (
        any::<u64>(),
        any::<String>(),
        arb_recipient(),
        any::<String>(),
        any::<i64>(),
    )
        .prop_map(|(id, from, to, body, sent_at_ms)| WireMessage {
            id,
            from,
            to,
            body,
            sent_at_ms,
        })
}

fn arb_server_frame() -> impl Strategy<Value = ServerFrame> {
    let error =
        (any::<String>(), any::<String>()).prop_map(|(code, message)| ErrorBody { code, message });
    let reply = prop_oneof![
        any::<String>().prop_map(|username| Reply::Registered { username }),
        any::<String>().prop_map(|username| Reply::LoggedIn { username }),
        (any::<u64>(), any::<i64>()).prop_map(|(message_id, sent_at_ms)| Reply::Sent {
            message_id,
            sent_at_ms
        }),
        (
            proptest::collection::vec(arb_message(), 0..4),
            any::<bool>(),
            any::<u32>(),
            any::<bool>()
        )
            .prop_map(
                |(messages, has_more, limit, clamped)| Reply::History(HistoryPage {
                    messages,
                    has_more,
                    limit,
                    clamped
                })
            ),
        Just(Reply::Pong),
        Just(Reply::Bye),
        error.clone().prop_map(Reply::Error),
        arb_group_reply(),
        arb_inbox_reply(),
    ];
    prop_oneof![
        (any::<u16>(), any::<u32>()).prop_map(|(version, frame_bytes_max)| ServerFrame::Welcome {
            version,
            frame_bytes_max
        }),
        (any::<u32>(), reply).prop_map(|(id, reply)| ServerFrame::Reply { id, reply }),
        arb_message().prop_map(|m| ServerFrame::Event(Event::Message(m))),
        Just(ServerFrame::Event(Event::Ping)),
        arb_notice().prop_map(|n| ServerFrame::Event(Event::Notice(n))),
        (arb_recipient(), any::<u64>())
            .prop_map(|(with, up_to)| ServerFrame::Event(Event::Read { with, up_to })),
        error.prop_map(ServerFrame::Closing),
    ]
}

proptest! {
    #[test]
    fn client_frames_round_trip(frame in arb_client_frame()) {
        let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
        decoder.push(&encode_all(std::slice::from_ref(&frame)));
        prop_assert_eq!(decoder.next_frame::<ClientFrame>(), Ok(Some(frame)));
        prop_assert_eq!(decoder.buffered_bytes(), 0);
    }

    #[test]
    fn server_frames_round_trip(frame in arb_server_frame()) {
        let mut out = Vec::new();
        encode_frame(&frame, FRAME_BYTES_MAX, &mut out).unwrap();
        let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
        decoder.push(&out);
        prop_assert_eq!(decoder.next_frame::<ServerFrame>(), Ok(Some(frame)));
    }

    #[test]
    fn frame_bytes_counts_exactly_what_encoding_writes(frame in arb_server_frame()) {
        let mut out = Vec::new();
        encode_frame(&frame, FRAME_BYTES_MAX, &mut out).unwrap();
        prop_assert_eq!(crate::frame_bytes(&frame), out.len());
    }

    #[test]
    fn split_anywhere_equals_whole(
        frames in proptest::collection::vec(arb_client_frame(), 1..6),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let bytes = encode_all(&frames);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
        let mut decoded = Vec::new();
        for pair in points.windows(2) {
            decoder.push(&bytes[pair[0]..pair[1]]);
            decoded.extend(decode_all(&mut decoder));
        }
        prop_assert_eq!(decoded, frames);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
    ) {
        let frame_bytes_max = 256;
        let mut decoder = FrameDecoder::new(frame_bytes_max);
        'feed: for chunk in &chunks {
            decoder.push(chunk);
            prop_assert!(decoder.buffered_bytes() <= LENGTH_PREFIX_BYTES + frame_bytes_max + chunk.len());
            loop {
                match decoder.next_frame::<ClientFrame>() {
                    Ok(Some(_)) | Err(DecodeError::Malformed(_)) | Err(DecodeError::TrailingBytes { .. }) => {}
                    Ok(None) => break,
                    Err(DecodeError::TooLarge { .. }) => break 'feed,
                }
            }
        }
    }
}

#[test]
fn a_varint_longer_than_it_needs_to_be_is_accepted_as_its_value() {
    // Request { id: 1, Ping } with the id written in two bytes (0x81 0x00) instead of one.
    let overlong = [0x01, 0x81, 0x00, 0x04];
    assert_eq!(
        decode_payload::<ClientFrame>(&overlong),
        Ok(ClientFrame::Request {
            id: 1,
            request: Request::Ping
        })
    );
}

#[test]
fn a_drained_decoder_gives_its_memory_back_but_keeps_a_partial_frame() {
    let frames = sample_client_frames();
    let bytes = encode_all(&frames[..1]);
    let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
    decoder.push(&bytes);
    decoder.push(&bytes[..2]);
    assert_eq!(decode_all(&mut decoder), frames[..1]);
    // Half a frame is held: nothing is released.
    decoder.release_if_empty();
    assert_eq!(decoder.buffered_bytes(), 2);
    decoder.push(&bytes[2..]);
    assert_eq!(decode_all(&mut decoder), frames[..1]);
    decoder.release_if_empty();
    assert_eq!(decoder.buffer.capacity(), 0);
    // And it goes on decoding.
    decoder.push(&bytes);
    assert_eq!(decode_all(&mut decoder), frames[..1]);
}

#[test]
fn a_list_of_empty_names_counts_what_it_holds_in_memory_not_on_the_wire() {
    let names = 60_000;
    let frame = ClientFrame::Request {
        id: 1,
        request: Request::CreateGroup {
            group: "g".into(),
            members: vec![String::new(); names],
        },
    };
    let wire = frame_bytes(&frame);
    assert!(wire < FRAME_BYTES_MAX, "{wire}");
    // The decoded list alone is a String header a name.
    assert!(decoded_bytes(&frame) >= names * std::mem::size_of::<String>());
    // A frame without a list costs about its bytes.
    let ping = ClientFrame::Request {
        id: 1,
        request: Request::Ping,
    };
    assert!(decoded_bytes(&ping) <= frame_bytes(&ping) + std::mem::size_of::<ClientFrame>());
}
