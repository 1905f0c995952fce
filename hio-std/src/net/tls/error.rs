//! What can go wrong with TLS, as data: [`TlsError`] (setting it up: files,
//! keys, names) and [`TlsFailure`] (one connection's handshake or
//! session).

use std::fmt;
use std::io;
use std::path::PathBuf;

use rustls::{AlertDescription, CertificateError};

/// Why a TLS configuration could not be made: a file that cannot be read
/// or holds no usable PEM, a key that does not match, a bad server name.
///
/// ```
/// use hio_std::net::tls::ServerTls;
/// let e = ServerTls::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
/// assert!(e.to_string().contains("/nonexistent/cert.pem"));
/// let io: std::io::Error = e.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        kind: io::ErrorKind,
    },
    /// A file could not be written.
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        kind: io::ErrorKind,
    },
    /// No certificate in a PEM file (or text).
    NoCertificates {
        /// Where (a path, or `"PEM text"`).
        source: String,
    },
    /// No private key in a PEM file (or text).
    NoKey {
        /// Where.
        source: String,
    },
    /// Malformed PEM.
    BadPem {
        /// Where.
        source: String,
        /// What the parser said.
        why: String,
    },
    /// A CA certificate could not be trusted (malformed, or not a CA).
    BadCa {
        /// Where.
        source: String,
        /// Why.
        why: String,
    },
    /// rustls refused the configuration (a key that does not match its
    /// certificate, an unsupported key type, no versions).
    Rejected(String),
    /// Not a DNS name or an IP address.
    BadServerName(String),
    /// A certificate could not be generated.
    Generate(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, kind } => {
                write!(f, "cannot read {}: {kind}", path.display())
            }
            TlsError::Write { path, kind } => {
                write!(f, "cannot write {}: {kind}", path.display())
            }
            TlsError::NoCertificates { source } => write!(
                f,
                "no certificate in {source}: give a PEM file with `-----BEGIN CERTIFICATE-----` blocks"
            ),
            TlsError::NoKey { source } => write!(
                f,
                "no private key in {source}: give a PEM file with a `-----BEGIN PRIVATE KEY-----` \
                 (PKCS#8), RSA or EC private key block"
            ),
            TlsError::BadPem { source, why } => write!(f, "malformed PEM in {source}: {why}"),
            TlsError::BadCa { source, why } => {
                write!(f, "cannot trust the CA certificate in {source}: {why}")
            }
            TlsError::Rejected(why) => write!(
                f,
                "the TLS configuration was refused: {why} (does the key belong to the certificate?)"
            ),
            TlsError::BadServerName(n) => write!(
                f,
                "`{n}` is not a server name: give a DNS name (localhost) or an IP address"
            ),
            TlsError::Generate(why) => write!(f, "cannot generate a certificate: {why}"),
        }
    }
}

impl std::error::Error for TlsError {}

impl TlsError {
    /// The matching [`io::ErrorKind`].
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            TlsError::Read { kind, .. } | TlsError::Write { kind, .. } => *kind,
            _ => io::ErrorKind::InvalidInput,
        }
    }
}

impl From<TlsError> for io::Error {
    fn from(e: TlsError) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

/// Why one TLS connection failed. Each is counted and logged by the
/// endpoint it happened on; none stops the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The peer's certificate is not signed by a trusted CA.
    UnknownIssuer,
    /// The peer's certificate has expired, or is not valid yet.
    Expired,
    /// The peer's certificate is not valid for the server name.
    NotValidForName,
    /// The peer's certificate is invalid in another way.
    BadCertificate,
    /// The peer sent no certificate, and one is required (mutual TLS).
    CertificateRequired,
    /// The peer ended the handshake with this alert (its code).
    Alert(u8),
    /// The bytes are not TLS, or break the protocol.
    Protocol,
    /// No protocol version, cipher suite or key type in common.
    Incompatible,
    /// No application protocol (ALPN) in common.
    NoApplicationProtocol,
    /// The handshake did not finish within its timeout.
    HandshakeTimeout,
    /// The peer closed the connection during the handshake.
    HandshakeEof,
    /// The peer closed TCP without a `close_notify`: what it sent may be
    /// cut short.
    Truncated,
    /// Another error of rustls.
    Other,
}

impl TlsFailure {
    /// The failure behind a rustls error.
    pub fn from_rustls(e: &rustls::Error) -> Self {
        use rustls::Error as E;
        match e {
            E::InvalidCertificate(c) => match c {
                CertificateError::UnknownIssuer
                | CertificateError::BadSignature
                | CertificateError::UnsupportedSignatureAlgorithmContext { .. } => {
                    TlsFailure::UnknownIssuer
                }
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => TlsFailure::Expired,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsFailure::NotValidForName,
                _ => TlsFailure::BadCertificate,
            },
            E::NoCertificatesPresented => TlsFailure::CertificateRequired,
            E::AlertReceived(a) => TlsFailure::Alert(u8::from(*a)),
            E::InappropriateMessage { .. }
            | E::InappropriateHandshakeMessage { .. }
            | E::InvalidMessage(_)
            | E::PeerMisbehaved(_)
            | E::DecryptError
            | E::PeerSentOversizedRecord => TlsFailure::Protocol,
            E::PeerIncompatible(_) => TlsFailure::Incompatible,
            E::NoApplicationProtocol => TlsFailure::NoApplicationProtocol,
            _ => TlsFailure::Other,
        }
    }

    /// The matching [`io::ErrorKind`].
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            TlsFailure::HandshakeTimeout => io::ErrorKind::TimedOut,
            TlsFailure::HandshakeEof | TlsFailure::Truncated => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        }
    }
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::UnknownIssuer => f.write_str(
                "the peer's certificate is not signed by a trusted CA (give the CA that signed it: --tls-ca or --tls-client-ca)",
            ),
            TlsFailure::Expired => f.write_str(
                "the peer's certificate has expired or is not valid yet (renew it, or check the clocks)",
            ),
            TlsFailure::NotValidForName => f.write_str(
                "the peer's certificate is not valid for the server name (set --server-name to a name it holds)",
            ),
            TlsFailure::BadCertificate => f.write_str("the peer's certificate is invalid"),
            TlsFailure::CertificateRequired => f.write_str(
                "no client certificate, and the server requires one (give --tls-cert and --tls-key)",
            ),
            TlsFailure::Alert(code) => write!(
                f,
                "the peer refused the handshake: alert {:?}",
                AlertDescription::from(*code)
            ),
            TlsFailure::Protocol => f.write_str(
                "the peer does not speak TLS or broke the protocol (a plain TCP peer?)",
            ),
            TlsFailure::Incompatible => f.write_str(
                "no TLS version, cipher suite or key type in common with the peer",
            ),
            TlsFailure::NoApplicationProtocol => {
                f.write_str("no application protocol (ALPN) in common with the peer")
            }
            TlsFailure::HandshakeTimeout => {
                f.write_str("the TLS handshake did not finish within its timeout")
            }
            TlsFailure::HandshakeEof => {
                f.write_str("the peer closed the connection during the TLS handshake")
            }
            TlsFailure::Truncated => f.write_str(
                "the peer closed the connection without a TLS close_notify (its data may be cut short)",
            ),
            TlsFailure::Other => f.write_str("TLS error"),
        }
    }
}

impl std::error::Error for TlsFailure {}

impl From<TlsFailure> for io::Error {
    fn from(e: TlsFailure) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}
