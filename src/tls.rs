//! TLS for both binaries: configurations loaded from PEM files, and `Transport`, a socket that
//! is plain or TLS behind one non-blocking `Read`/`Write`. rustls does no I/O itself, so the
//! loop keeps its readiness model: bytes move between the socket and rustls only when the
//! socket is ready, and `WouldBlock` means what it means for a plain socket.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig};

/// Plaintext rustls may hold before it refuses more: with the connection's own queue, what
/// bounds the memory a slow reader costs.
const TLS_BUFFER_BYTES: usize = 64 * 1024;

/// Where Debian (and most Linux systems) keep the trusted certificate authorities.
pub const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server's configuration: its certificate chain and private key, both PEM files.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, String> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert_file.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("cannot read a private key from {}: {e}", key_file.display()))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not make a TLS identity: {e}"))?;
    Ok(Arc::new(config))
}

/// The client's configuration: it trusts the certificate authorities in `ca_file` (PEM).
pub fn client_config(ca_file: &Path) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", ca_file.display()))?;
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("no usable certificate in {}", ca_file.display()));
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A client connection to `host` (a name or an IP address, as in the certificate).
pub fn client_connection(config: Arc<ClientConfig>, host: &str) -> Result<Connection, String> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host} cannot be checked against a certificate: {e}"))?;
    let connection =
        ClientConnection::new(config, name).map_err(|e| format!("TLS setup failed: {e}"))?;
    Ok(Connection::Client(connection))
}

/// A server connection for one accepted socket.
pub fn server_connection(config: Arc<ServerConfig>) -> Result<Connection, String> {
    rustls::ServerConnection::new(config)
        .map(Connection::Server)
        .map_err(|e| format!("TLS setup failed: {e}"))
}

/// A non-blocking socket, plain or wrapped in TLS.
pub enum Transport<S> {
    Plain(S),
    Tls(S, Box<Connection>),
}

impl<S: Read + Write> Transport<S> {
    pub fn new(socket: S, tls: Option<Connection>) -> Self {
        match tls {
            None => Transport::Plain(socket),
            Some(mut connection) => {
                connection.set_buffer_limit(Some(TLS_BUFFER_BYTES));
                Transport::Tls(socket, Box::new(connection))
            }
        }
    }

    /// True if this transport speaks TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(..))
    }

    pub fn socket(&self) -> &S {
        match self {
            Transport::Plain(socket) | Transport::Tls(socket, _) => socket,
        }
    }

    pub fn socket_mut(&mut self) -> &mut S {
        match self {
            Transport::Plain(socket) | Transport::Tls(socket, _) => socket,
        }
    }

    /// Writes the TLS records rustls holds (handshake messages, encrypted output) as far as
    /// the socket takes them. `Ok(true)`: none left.
    pub fn flush_tls(&mut self) -> io::Result<bool> {
        let Transport::Tls(socket, connection) = self else {
            return Ok(true);
        };
        while connection.wants_write() {
            match connection.write_tls(socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Whether rustls holds records to send: the socket should be watched for writability.
    pub fn wants_write(&self) -> bool {
        matches!(self, Transport::Tls(_, connection) if connection.wants_write())
    }

    /// Plaintext rustls has decrypted but nobody has read yet. The socket may have nothing
    /// more, so readiness will not say so: the caller reads again without waiting.
    pub fn has_buffered_plaintext(&mut self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(_, connection) => connection
                .process_new_packets()
                .is_ok_and(|state| state.plaintext_bytes_to_read() > 0),
        }
    }

    /// Ends a TLS session politely (close_notify), as far as the socket takes it now.
    pub fn close_tls(&mut self) {
        if let Transport::Tls(_, connection) = self {
            connection.send_close_notify();
        }
        let _ = self.flush_tls();
    }
}

impl<S: Read + Write> Read for Transport<S> {
    /// Plaintext, as a non-blocking socket gives bytes: `Ok(0)` at the end, `WouldBlock` when
    /// nothing more can be had now. Bad TLS is `InvalidData`, after rustls's alert is sent.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (socket, connection) = match self {
            Transport::Plain(socket) => return socket.read(buf),
            Transport::Tls(socket, connection) => (socket, connection),
        };
        loop {
            match connection.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed without close_notify: an end like any other here.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            match connection.read_tls(socket) {
                Ok(0) => return Ok(0),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            if let Err(e) = connection.process_new_packets() {
                // Tell the peer why (an alert), as far as the socket takes it, then fail.
                while connection.wants_write() && connection.write_tls(socket).is_ok() {}
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            // Handshake replies go out as soon as they exist.
            while connection.wants_write() {
                match connection.write_tls(socket) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

impl<S: Read + Write> Write for Transport<S> {
    /// Takes as much plaintext as rustls's buffer allows and sends what the socket takes;
    /// `WouldBlock` once neither can take more.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Transport::Plain(socket) = self {
            return socket.write(data);
        }
        self.flush_tls()?;
        let Transport::Tls(_, connection) = self else {
            unreachable!("plain returned above");
        };
        let taken = connection.writer().write(data)?;
        self.flush_tls()?;
        // rustls's buffer is full: records wait for a writable socket, or the handshake.
        if taken == 0 && !data.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.flush_tls()? {
            true => Ok(()),
            false => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}
