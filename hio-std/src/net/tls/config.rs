//! [`ServerTls`] and [`ClientTls`]: rustls configurations made from PEM
//! files, with the few choices the issue asks for (client certificates,
//! ALPN, versions, a handshake timeout).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::TlsError;

/// How long a handshake may take before the connection is closed
/// ([`TlsFailure::HandshakeTimeout`](super::TlsFailure::HandshakeTimeout)).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which TLS versions an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsVersions {
    /// TLS 1.3 and 1.2 (the default).
    #[default]
    Both,
    /// TLS 1.3 only.
    Tls13,
    /// TLS 1.2 only.
    Tls12,
}

impl TlsVersions {
    fn list(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        static BOTH: [&rustls::SupportedProtocolVersion; 2] =
            [&rustls::version::TLS13, &rustls::version::TLS12];
        static V13: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        static V12: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
        match self {
            TlsVersions::Both => &BOTH,
            TlsVersions::Tls13 => &V13,
            TlsVersions::Tls12 => &V12,
        }
    }
}

/// The crypto provider of every configuration here: *ring*.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read {
        path: path.to_path_buf(),
        kind: e.kind(),
    })
}

fn certs(pem: &[u8], source: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let mut out = Vec::new();
    for c in CertificateDer::pem_slice_iter(pem) {
        match c {
            Ok(c) => out.push(c),
            Err(e) => {
                return Err(TlsError::BadPem {
                    source: source.to_owned(),
                    why: e.to_string(),
                })
            }
        }
    }
    if out.is_empty() {
        return Err(TlsError::NoCertificates {
            source: source.to_owned(),
        });
    }
    Ok(out)
}

fn key(pem: &[u8], source: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    use rustls::pki_types::pem::Error as P;
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        P::NoItemsFound => TlsError::NoKey {
            source: source.to_owned(),
        },
        e => TlsError::BadPem {
            source: source.to_owned(),
            why: e.to_string(),
        },
    })
}

fn roots(pem: &[u8], source: &str) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for c in certs(pem, source)? {
        store.add(c).map_err(|e| TlsError::BadCa {
            source: source.to_owned(),
            why: e.to_string(),
        })?;
    }
    Ok(store)
}

fn label(path: &Path) -> String {
    path.display().to_string()
}

const PEM_TEXT: &str = "the PEM text";

/// A TLS server's configuration: what a [`Server`](crate::net::Server)
/// made with [`with_tls`](crate::net::Server::with_tls) speaks on every
/// connection.
///
/// ```
/// use hio_std::net::tls::{Authority, ServerTls};
/// let ca = Authority::new("test CA")?;
/// let server = ca.issue_server(&["localhost"])?;
/// let tls = ServerTls::from_pem(server.cert_pem.as_bytes(), server.key_pem.as_bytes())?
///     .alpn(&[b"hio"])
///     .build()?;
/// assert_eq!(tls.handshake_timeout(), hio_std::net::tls::HANDSHAKE_TIMEOUT);
/// # Ok::<(), hio_std::net::tls::TlsError>(())
/// ```
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    handshake_timeout: Duration,
}

impl ServerTls {
    /// A server with the certificate chain in `cert` and its private key
    /// in `key` (PEM files).
    ///
    /// # Errors
    ///
    /// [`TlsError`] if a file cannot be read or holds no certificate or
    /// key.
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<ServerTlsBuilder, TlsError> {
        let (cert, key_path) = (cert.as_ref(), key.as_ref());
        let chain = certs(&read(cert)?, &label(cert))?;
        let key = self::key(&read(key_path)?, &label(key_path))?;
        Ok(ServerTlsBuilder::new(chain, key))
    }

    /// A server with the certificate chain and key given as PEM text.
    ///
    /// # Errors
    ///
    /// [`TlsError`] if either holds no certificate or key.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<ServerTlsBuilder, TlsError> {
        Ok(ServerTlsBuilder::new(
            certs(cert, PEM_TEXT)?,
            self::key(key, PEM_TEXT)?,
        ))
    }

    /// A server with a rustls configuration made elsewhere.
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> Self {
        ServerTls {
            config,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }

    /// With this handshake timeout.
    pub fn with_handshake_timeout(mut self, t: Duration) -> Self {
        self.handshake_timeout = t;
        self
    }

    /// Its handshake timeout.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// Its rustls configuration.
    pub fn rustls(&self) -> &Arc<rustls::ServerConfig> {
        &self.config
    }
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ServerTls`] ([`ServerTls::from_pem_files`]).
pub struct ServerTlsBuilder {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_ca: Option<RootCertStore>,
    alpn: Vec<Vec<u8>>,
    versions: TlsVersions,
    handshake_timeout: Duration,
}

impl ServerTlsBuilder {
    fn new(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        ServerTlsBuilder {
            chain,
            key,
            client_ca: None,
            alpn: Vec::new(),
            versions: TlsVersions::Both,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }

    /// Requires a client certificate signed by a CA in the PEM file `ca`
    /// (mutual TLS; off by default).
    ///
    /// # Errors
    ///
    /// [`TlsError`] if the file cannot be read or holds no usable CA.
    pub fn client_ca_file(self, ca: impl AsRef<Path>) -> Result<Self, TlsError> {
        let ca = ca.as_ref();
        let store = roots(&read(ca)?, &label(ca))?;
        Ok(ServerTlsBuilder {
            client_ca: Some(store),
            ..self
        })
    }

    /// Requires a client certificate signed by a CA in `pem`.
    ///
    /// # Errors
    ///
    /// [`TlsError`] if it holds no usable CA.
    pub fn client_ca_pem(self, pem: &[u8]) -> Result<Self, TlsError> {
        let store = roots(pem, PEM_TEXT)?;
        Ok(ServerTlsBuilder {
            client_ca: Some(store),
            ..self
        })
    }

    /// Offers these application protocols (ALPN), most preferred first.
    pub fn alpn(mut self, protocols: &[&[u8]]) -> Self {
        self.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// Speaks these versions (default: TLS 1.3 and 1.2).
    pub fn versions(mut self, v: TlsVersions) -> Self {
        self.versions = v;
        self
    }

    /// Closes a connection whose handshake takes longer than `t`.
    pub fn handshake_timeout(mut self, t: Duration) -> Self {
        self.handshake_timeout = t;
        self
    }

    /// The configuration.
    ///
    /// # Errors
    ///
    /// [`TlsError::Rejected`] if rustls refuses it (most often: the key
    /// does not belong to the certificate).
    pub fn build(self) -> Result<ServerTls, TlsError> {
        let rejected = |e: rustls::Error| TlsError::Rejected(e.to_string());
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(self.versions.list())
            .map_err(rejected)?;
        let builder = match self.client_ca {
            Some(store) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(store),
                    provider(),
                )
                .build()
                .map_err(|e| TlsError::Rejected(e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(self.chain, self.key)
            .map_err(rejected)?;
        config.alpn_protocols = self.alpn;
        Ok(ServerTls {
            config: Arc::new(config),
            handshake_timeout: self.handshake_timeout,
        })
    }
}

impl fmt::Debug for ServerTlsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTlsBuilder")
            .field("certificates", &self.chain.len())
            .field("mutual", &self.client_ca.is_some())
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

/// A TLS client's configuration: what a [`Client`](crate::net::Client)
/// made with [`with_tls`](crate::net::Client::with_tls) speaks, and the
/// name it checks the server's certificate against.
///
/// ```
/// use hio_std::net::tls::{Authority, ClientTls};
/// let ca = Authority::new("test CA")?;
/// let tls = ClientTls::with_ca_pem(ca.cert_pem().as_bytes())?
///     .server_name("localhost")?
///     .build()?;
/// assert!(tls.server_name().is_some());
/// # Ok::<(), hio_std::net::tls::TlsError>(())
/// ```
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
    server_name: Option<ServerName<'static>>,
    handshake_timeout: Duration,
}

impl ClientTls {
    /// Trusts the CA certificates in the PEM file `ca`.
    ///
    /// # Errors
    ///
    /// [`TlsError`] if the file cannot be read or holds no usable CA.
    pub fn with_ca_file(ca: impl AsRef<Path>) -> Result<ClientTlsBuilder, TlsError> {
        let ca = ca.as_ref();
        Ok(ClientTlsBuilder::new(Trust::Roots(roots(
            &read(ca)?,
            &label(ca),
        )?)))
    }

    /// Trusts the CA certificates in `pem`.
    ///
    /// # Errors
    ///
    /// [`TlsError`] if it holds no usable CA.
    pub fn with_ca_pem(pem: &[u8]) -> Result<ClientTlsBuilder, TlsError> {
        Ok(ClientTlsBuilder::new(Trust::Roots(roots(pem, PEM_TEXT)?)))
    }

    /// Trusts the Mozilla root certificates (the `webpki-roots` feature):
    /// the public CAs a browser trusts.
    #[cfg(feature = "webpki-roots")]
    pub fn with_webpki_roots() -> ClientTlsBuilder {
        let store = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        ClientTlsBuilder::new(Trust::Roots(store))
    }

    /// **Insecure**: accepts any server certificate, for any name, signed
    /// by anyone — so anyone between the client and the server can read
    /// and change the traffic. Only for testing against a server whose
    /// certificate cannot be had; never in production. The handshake
    /// signatures are still checked.
    pub fn dangerous_insecure_accept_any_certificate() -> ClientTlsBuilder {
        ClientTlsBuilder::new(Trust::Anything)
    }

    /// A client with a rustls configuration made elsewhere.
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> Self {
        ClientTls {
            config,
            server_name: None,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }

    /// The server name it checks (`None`: the server's IP address).
    pub fn server_name(&self) -> Option<&ServerName<'static>> {
        self.server_name.as_ref()
    }

    /// Its handshake timeout.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// Its rustls configuration.
    pub fn rustls(&self) -> &Arc<rustls::ClientConfig> {
        &self.config
    }
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

enum Trust {
    Roots(RootCertStore),
    Anything,
}

/// Builds a [`ClientTls`] ([`ClientTls::with_ca_file`]).
pub struct ClientTlsBuilder {
    trust: Trust,
    server_name: Option<ServerName<'static>>,
    cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    alpn: Vec<Vec<u8>>,
    versions: TlsVersions,
    handshake_timeout: Duration,
}

impl ClientTlsBuilder {
    fn new(trust: Trust) -> Self {
        ClientTlsBuilder {
            trust,
            server_name: None,
            cert: None,
            alpn: Vec::new(),
            versions: TlsVersions::Both,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }

    /// Checks the server's certificate against `name` (a DNS name or an
    /// IP address; default: the IP address connected to).
    ///
    /// # Errors
    ///
    /// [`TlsError::BadServerName`] if it is neither.
    pub fn server_name(mut self, name: &str) -> Result<Self, TlsError> {
        let n = ServerName::try_from(name.to_owned())
            .map_err(|_| TlsError::BadServerName(name.to_owned()))?;
        self.server_name = Some(n);
        Ok(self)
    }

    /// Presents the certificate chain in `cert` with its key in `key` (PEM
    /// files) to a server that asks for one.
    ///
    /// # Errors
    ///
    /// [`TlsError`] if a file cannot be read or holds no certificate or
    /// key.
    pub fn client_cert_files(
        mut self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let (cert, key_path) = (cert.as_ref(), key.as_ref());
        let chain = certs(&read(cert)?, &label(cert))?;
        let key = self::key(&read(key_path)?, &label(key_path))?;
        self.cert = Some((chain, key));
        Ok(self)
    }

    /// Presents the certificate chain and key given as PEM text.
    ///
    /// # Errors
    ///
    /// [`TlsError`] if either holds no certificate or key.
    pub fn client_cert_pem(mut self, cert: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        self.cert = Some((certs(cert, PEM_TEXT)?, self::key(key, PEM_TEXT)?));
        Ok(self)
    }

    /// Asks for these application protocols (ALPN), most preferred first.
    pub fn alpn(mut self, protocols: &[&[u8]]) -> Self {
        self.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// Speaks these versions (default: TLS 1.3 and 1.2).
    pub fn versions(mut self, v: TlsVersions) -> Self {
        self.versions = v;
        self
    }

    /// Gives up on a handshake that takes longer than `t`.
    pub fn handshake_timeout(mut self, t: Duration) -> Self {
        self.handshake_timeout = t;
        self
    }

    /// The configuration.
    ///
    /// # Errors
    ///
    /// [`TlsError::Rejected`] if rustls refuses it (most often: the client
    /// key does not belong to its certificate).
    pub fn build(self) -> Result<ClientTls, TlsError> {
        let rejected = |e: rustls::Error| TlsError::Rejected(e.to_string());
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(self.versions.list())
            .map_err(rejected)?;
        let builder = match self.trust {
            Trust::Roots(store) => builder.with_root_certificates(store),
            Trust::Anything => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider()))),
        };
        let mut config = match self.cert {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(rejected)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn;
        Ok(ClientTls {
            config: Arc::new(config),
            server_name: self.server_name,
            handshake_timeout: self.handshake_timeout,
        })
    }
}

impl fmt::Debug for ClientTlsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTlsBuilder")
            .field("server_name", &self.server_name)
            .field("client_cert", &self.cert.is_some())
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

/// The verifier of
/// [`dangerous_insecure_accept_any_certificate`](ClientTls::dangerous_insecure_accept_any_certificate):
/// any certificate passes; handshake signatures are still checked.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
