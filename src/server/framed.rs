//! Our own protocol as a transport: length-prefixed postcard frames, over plain TCP or TLS
//! (`tls::Transport`), with an incremental decoder in and a capped buffer out.

use std::io::{self, Read, Write};

use chat_wire::{ClientFrame, FrameDecoder, ServerFrame, encode_frame};
use mio::net::TcpStream;

use super::transport::{
    ClientStream, FrameError, OutputLimits, READ_CHUNK_BYTES, ReadOutcome, SharedFrame,
    WriteOutcome,
};
use crate::tls::Transport;

pub struct FramedStream {
    transport: Transport<TcpStream>,
    decoder: FrameDecoder,
    /// Encoded frames not yet written; `out[out_written..]` is what remains.
    out: Vec<u8>,
    out_written: usize,
    limits: OutputLimits,
}

impl FramedStream {
    pub fn new(transport: Transport<TcpStream>, limits: OutputLimits) -> Self {
        FramedStream {
            transport,
            decoder: FrameDecoder::new(limits.frame_bytes_max),
            out: Vec::new(),
            out_written: 0,
            limits,
        }
    }

    /// Everything queued was written: start the buffer over rather than grow it.
    fn reuse_written_buffer(&mut self) {
        if self.out_written > 0 && self.out_written == self.out.len() {
            self.out.clear();
            self.out_written = 0;
        }
    }
}

impl ClientStream for FramedStream {
    fn read(&mut self) -> ReadOutcome {
        let mut chunk = [0u8; READ_CHUNK_BYTES];
        match self.transport.read(&mut chunk) {
            Ok(0) => ReadOutcome::Closed("closed by peer".into()),
            Ok(n) => {
                self.decoder.push(&chunk[..n]);
                ReadOutcome::Read(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Drained: whatever it sent is acted on or waits in the decoder; an idle
                // connection keeps no read buffer.
                self.decoder.release_if_empty();
                ReadOutcome::Drained
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::Read(0),
            Err(e) => ReadOutcome::Closed(format!("read failed: {e}")),
        }
    }

    fn next_frame(&mut self) -> Result<Option<ClientFrame>, FrameError> {
        self.decoder.next_frame().map_err(|e| FrameError {
            code: e.code(),
            message: e.to_string(),
        })
    }

    fn has_partial_frame(&self) -> bool {
        self.decoder.buffered_bytes() > 0
    }

    fn queue(&mut self, frame: &ServerFrame) -> Result<(), String> {
        self.reuse_written_buffer();
        encode_frame(frame, self.limits.frame_bytes_max, &mut self.out)
            .map_err(|e| e.to_string())?;
        self.limits.check(self.unsent_bytes())
    }

    fn queue_shared(&mut self, shared: &SharedFrame) -> Result<(), String> {
        let frame_bytes_max = self.limits.frame_bytes_max;
        let bytes = shared.encoded("postcard", |frame| {
            let mut bytes = Vec::new();
            encode_frame(frame, frame_bytes_max, &mut bytes).map_err(|e| e.to_string())?;
            Ok(bytes)
        });
        let bytes = bytes.as_ref().as_ref().map_err(Clone::clone)?;
        // What waits in the write queue is not a slow reader's backlog: before it counts
        // against the limit, give the socket what it will take now.
        if self.unsent_bytes() + bytes.len() > self.limits.unsent_bytes_max
            && let WriteOutcome::Failed(reason) = self.write_out()
        {
            return Err(reason);
        }
        self.reuse_written_buffer();
        self.out.extend_from_slice(bytes);
        self.limits.check(self.unsent_bytes())
    }

    fn unsent_bytes(&self) -> usize {
        self.out.len() - self.out_written
    }

    fn write_out(&mut self) -> WriteOutcome {
        while self.out_written < self.out.len() {
            match self.transport.write(&self.out[self.out_written..]) {
                Ok(0) => return WriteOutcome::Failed("write returned 0".into()),
                Ok(n) => self.out_written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return WriteOutcome::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return WriteOutcome::Failed(format!("write failed: {e}")),
            }
        }
        // Everything is written: an idle connection keeps no output buffer (the next answer
        // allocates one, which costs far less than the write that follows it).
        self.out = Vec::new();
        self.out_written = 0;
        // Under TLS, done only once rustls's records are out too.
        match self.transport.flush_tls() {
            Ok(true) => WriteOutcome::Done,
            Ok(false) => WriteOutcome::Pending,
            Err(e) => WriteOutcome::Failed(format!("write failed: {e}")),
        }
    }

    fn close(&mut self) {
        self.transport.close_tls();
    }

    fn socket_mut(&mut self) -> Option<&mut TcpStream> {
        Some(self.transport.socket_mut())
    }
}
