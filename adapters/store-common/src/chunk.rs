//! The two framings of stored messages: a chunk (consecutive messages of one conversation, one
//! stored value: `[id][value length][value]` repeated) and a log entry (messages of any
//! conversations, as one commit appended them: `[key length][conversation key]` before each).
//! Numbers are LEB128 varints.

use chat_domain::{Conversation, MessageId, StoreError};

use crate::stored_message::{corrupt, stored_id};
use crate::{conversation_from_key, push_conversation_key};

/// Appends `value` as a LEB128 varint.
fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads a LEB128 varint off the front of `bytes`.
fn read_varint(bytes: &mut &[u8]) -> Result<u64, StoreError> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes
            .split_first()
            .ok_or_else(|| corrupt("chunk", "ends inside a number"))?;
        *bytes = rest;
        if shift == 63 && byte > 1 {
            return Err(corrupt("chunk", "a number longer than 64 bits"));
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(corrupt("chunk", "a number longer than 64 bits"))
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    push_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn read_bytes<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], StoreError> {
    let len = usize::try_from(read_varint(bytes)?).unwrap_or(usize::MAX);
    if len > bytes.len() {
        return Err(corrupt("chunk", "a value longer than what is left"));
    }
    let (taken, rest) = bytes.split_at(len);
    *bytes = rest;
    Ok(taken)
}

/// Appends one message, its id and stored value, to a chunk.
pub fn push_chunk_entry(chunk: &mut Vec<u8>, id: MessageId, value: &[u8]) {
    push_varint(chunk, id.get());
    push_bytes(chunk, value);
}

/// The messages of a chunk, as ids and stored values, in the order they were pushed (id order).
pub fn chunk_entries(chunk: &[u8]) -> Result<Vec<(MessageId, &[u8])>, StoreError> {
    let mut rest = chunk;
    let mut entries = Vec::new();
    while !rest.is_empty() {
        let id = stored_id("message id", read_varint(&mut rest)?)?;
        entries.push((id, read_bytes(&mut rest)?));
    }
    Ok(entries)
}

/// Appends one message of `conversation` to a log entry.
pub fn push_log_entry(log: &mut Vec<u8>, conversation: &Conversation, id: MessageId, value: &[u8]) {
    // The key is written in place after a one-byte length, which every key fits (names are
    // short); a longer one would be moved once behind a longer length.
    let start = log.len();
    log.push(0);
    push_conversation_key(conversation, log);
    let key_bytes = log.len() - start - 1;
    if key_bytes < 0x80 {
        log[start] = key_bytes as u8;
    } else {
        let key = log.split_off(start + 1);
        log.truncate(start);
        push_bytes(log, &key);
    }
    push_chunk_entry(log, id, value);
}

/// A message read from a log entry: its conversation, its id and its stored value.
pub type LoggedMessage<'a> = (Conversation, MessageId, &'a [u8]);

/// The messages of a log entry, in the order they were pushed.
pub fn log_entries(log: &[u8]) -> Result<Vec<LoggedMessage<'_>>, StoreError> {
    let mut rest = log;
    let mut entries = Vec::new();
    while !rest.is_empty() {
        let key = read_bytes(&mut rest)?;
        let conversation = std::str::from_utf8(key)
            .ok()
            .and_then(conversation_from_key)
            .ok_or_else(|| corrupt("log entry", "not a conversation's key"))?;
        let id = stored_id("message id", read_varint(&mut rest)?)?;
        entries.push((conversation, id, read_bytes(&mut rest)?));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use chat_domain::{GroupName, Username};

    use super::*;

    fn id(raw: u64) -> MessageId {
        MessageId::new(raw).unwrap()
    }

    #[test]
    fn a_chunk_reads_back_its_entries_in_order() {
        let mut chunk = Vec::new();
        let values: [&[u8]; 4] = [b"", b"a", &[0x80; 200], b"last"];
        let ids = [1, 127, 128, u64::MAX];
        for (raw, value) in ids.iter().zip(values) {
            push_chunk_entry(&mut chunk, id(*raw), value);
        }
        let read = chunk_entries(&chunk).unwrap();
        let expected: Vec<(MessageId, &[u8])> =
            ids.iter().map(|raw| id(*raw)).zip(values).collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn a_damaged_chunk_is_corrupt_not_a_panic() {
        let mut chunk = Vec::new();
        push_chunk_entry(&mut chunk, id(300), b"value");
        for end in 0..chunk.len() {
            let cut = &chunk[..end];
            if !cut.is_empty() {
                assert!(chunk_entries(cut).is_err(), "cut at {end}");
            }
        }
        assert!(chunk_entries(&[0xff; 11]).is_err());
        let mut past_64_bits = vec![0xff; 9];
        past_64_bits.push(0x02);
        assert!(chunk_entries(&past_64_bits).is_err(), "a 65th bit");
        assert!(chunk_entries(&[0x00, 0x00]).is_err(), "id 0");
    }

    #[test]
    fn a_log_entry_keeps_each_messages_conversation() {
        let alice = Username::parse("alice").unwrap();
        let bob = Username::parse("bob").unwrap();
        let direct = Conversation::direct(alice, bob);
        let group = Conversation::group(GroupName::parse("team").unwrap());
        let mut log = Vec::new();
        push_log_entry(&mut log, &direct, id(5), b"one");
        push_log_entry(&mut log, &group, id(6), b"two");
        let read = log_entries(&log).unwrap();
        assert_eq!(
            read,
            vec![(direct, id(5), &b"one"[..]), (group, id(6), &b"two"[..])]
        );
        assert!(log_entries(&log[..log.len() - 1]).is_err());
    }
}
