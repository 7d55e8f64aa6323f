//! The two protocols the load generator speaks: ours (postcard frames) and plain IRC (NICK,
//! USER, PRIVMSG), behind one small codec so every mode drives either server the same way.

use chat_wire::{
    ClientFrame, Event, FRAME_BYTES_MAX, FrameDecoder, Hello, MAGIC, PROTOCOL_VERSION, Reply,
    Request, ServerFrame, WireRecipient, encode_frame,
};

/// The password every benchmark user registers with.
pub const PASSWORD: &str = "benchmark password";
/// Bytes of an IRC line we accept before calling the peer broken.
const IRC_LINE_BYTES_MAX: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Chat,
    Irc,
}

/// Something a server sent, as the benchmark sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// Logged in: messages may be sent.
    Ready,
    /// A message delivered to this client, by its body.
    Delivered(String),
    /// The server wants an answer: these bytes.
    Answer(Vec<u8>),
    /// Anything else (acknowledgements, notices, the MOTD...).
    Other,
}

pub struct Codec {
    protocol: Protocol,
    frames: FrameDecoder,
    lines: Vec<u8>,
    next_id: u32,
}

impl Codec {
    pub fn new(protocol: Protocol) -> Self {
        Codec {
            protocol,
            frames: FrameDecoder::new(FRAME_BYTES_MAX),
            lines: Vec::new(),
            next_id: 1,
        }
    }

    fn frame(&mut self, request: Request, out: &mut Vec<u8>) {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        // Benchmark requests are small; they always fit a frame.
        let _ = encode_frame(&ClientFrame::Request { id, request }, FRAME_BYTES_MAX, out);
    }

    /// The bytes that connect and log in (registering) as `name`.
    pub fn login(&mut self, name: &str, out: &mut Vec<u8>) {
        match self.protocol {
            Protocol::Chat => {
                let hello = ClientFrame::Hello(Hello {
                    magic: MAGIC,
                    version: PROTOCOL_VERSION,
                });
                let _ = encode_frame(&hello, FRAME_BYTES_MAX, out);
                self.frame(
                    Request::Register {
                        username: name.into(),
                        password: PASSWORD.into(),
                    },
                    out,
                );
            }
            Protocol::Irc => {
                out.extend_from_slice(
                    format!("NICK {name}\r\nUSER {name} 0 * :{name}\r\n").as_bytes(),
                );
            }
        }
    }

    /// The bytes of a direct message to `to`.
    pub fn message(&mut self, to: &str, body: &str, out: &mut Vec<u8>) {
        match self.protocol {
            Protocol::Chat => {
                let client_message_id = u64::from(self.next_id);
                self.frame(
                    Request::Send {
                        client_message_id,
                        to: WireRecipient::User(to.into()),
                        body: body.into(),
                    },
                    out,
                );
            }
            Protocol::Irc => {
                out.extend_from_slice(format!("PRIVMSG {to} :{body}\r\n").as_bytes());
            }
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        match self.protocol {
            Protocol::Chat => self.frames.push(bytes),
            Protocol::Irc => self.lines.extend_from_slice(bytes),
        }
    }

    /// The next whole thing received, if any; an error if the server refused something.
    pub fn next_incoming(&mut self) -> Result<Option<Incoming>, String> {
        match self.protocol {
            Protocol::Chat => self.next_frame(),
            Protocol::Irc => self.next_line(),
        }
    }

    fn next_frame(&mut self) -> Result<Option<Incoming>, String> {
        let Some(frame) = self.frames.next_frame().map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        Ok(Some(match frame {
            ServerFrame::Reply {
                reply: Reply::Registered { .. } | Reply::LoggedIn { .. },
                ..
            } => Incoming::Ready,
            ServerFrame::Reply {
                reply: Reply::Error(e),
                ..
            }
            | ServerFrame::Closing(e) => return Err(format!("{}: {}", e.code, e.message)),
            ServerFrame::Event(Event::Message(m)) => Incoming::Delivered(m.body),
            ServerFrame::Event(Event::Ping) => {
                let mut out = Vec::new();
                self.frame(Request::Ping, &mut out);
                Incoming::Answer(out)
            }
            _ => Incoming::Other,
        }))
    }

    fn next_line(&mut self) -> Result<Option<Incoming>, String> {
        let Some(end) = self.lines.iter().position(|&b| b == b'\n') else {
            if self.lines.len() > IRC_LINE_BYTES_MAX {
                return Err("an IRC line past 8 KiB".into());
            }
            return Ok(None);
        };
        let line: Vec<u8> = self.lines.drain(..=end).collect();
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        Ok(Some(if let Some(token) = line.strip_prefix("PING ") {
            Incoming::Answer(format!("PONG {token}\r\n").into_bytes())
        } else if line.starts_with("ERROR") {
            return Err(line.to_string());
        } else if let Some((_, body)) = line
            .split_once(" PRIVMSG ")
            .and_then(|(_, rest)| rest.split_once(" :"))
        {
            Incoming::Delivered(body.to_string())
        } else if line.split(' ').nth(1) == Some("001") {
            Incoming::Ready
        } else {
            Incoming::Other
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irc_lines_split_anywhere_are_understood() {
        let mut codec = Codec::new(Protocol::Irc);
        codec.feed(b":bench.local 001 b00001 :Welcome\r\nPING :bench");
        assert_eq!(codec.next_incoming(), Ok(Some(Incoming::Ready)));
        assert_eq!(codec.next_incoming(), Ok(None));
        codec.feed(b".local\r\n:b00002!~b@127.0.0.1 PRIVMSG b00001 :3:7:xx yy\r\n");
        assert_eq!(
            codec.next_incoming(),
            Ok(Some(Incoming::Answer(b"PONG :bench.local\r\n".to_vec())))
        );
        assert_eq!(
            codec.next_incoming(),
            Ok(Some(Incoming::Delivered("3:7:xx yy".into())))
        );
        codec.feed(b"ERROR :Closing link\r\n");
        assert!(codec.next_incoming().is_err());
    }

    #[test]
    fn chat_frames_are_understood() {
        let mut server = Vec::new();
        for frame in [
            ServerFrame::Welcome {
                version: 1,
                frame_bytes_max: 65_536,
            },
            ServerFrame::Reply {
                id: 1,
                reply: Reply::Registered {
                    username: "b00001".into(),
                },
            },
        ] {
            encode_frame(&frame, FRAME_BYTES_MAX, &mut server).unwrap();
        }
        let mut codec = Codec::new(Protocol::Chat);
        codec.feed(&server);
        assert_eq!(codec.next_incoming(), Ok(Some(Incoming::Other)));
        assert_eq!(codec.next_incoming(), Ok(Some(Incoming::Ready)));
        assert_eq!(codec.next_incoming(), Ok(None));
    }
}
