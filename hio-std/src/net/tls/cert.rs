//! [`Authority`]: a small certificate authority (rcgen) that issues server
//! and client certificates, for `hio cert`, tests and examples.

use std::fmt;
use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use super::error::TlsError;

fn gen_err(e: rcgen::Error) -> TlsError {
    TlsError::Generate(e.to_string())
}

/// A certificate and its private key, as PEM text.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    /// The certificate (`-----BEGIN CERTIFICATE-----`).
    pub cert_pem: String,
    /// Its private key (`-----BEGIN PRIVATE KEY-----`, PKCS#8).
    pub key_pem: String,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // never the key
        f.debug_struct("Issued").finish_non_exhaustive()
    }
}

/// A calendar date: year, month (1–12), day (1–31).
pub type Date = (i32, u8, u8);

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Usage {
    /// A server's (names: DNS names or IP addresses).
    Server,
    /// A client's (mutual TLS).
    Client,
}

/// A certificate authority made on the spot: a self-signed CA certificate
/// and its key (ECDSA P-256), which issues certificates signed by it.
///
/// ```
/// use hio_std::net::tls::Authority;
/// let ca = Authority::new("hio test CA")?;
/// let server = ca.issue_server(&["localhost", "127.0.0.1"])?;
/// assert!(server.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// # Ok::<(), hio_std::net::tls::TlsError>(())
/// ```
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    key_pem: String,
}

impl Authority {
    /// A new CA named `common_name`.
    ///
    /// # Errors
    ///
    /// [`TlsError::Generate`] if rcgen fails.
    pub fn new(common_name: &str) -> Result<Self, TlsError> {
        let key = KeyPair::generate().map_err(gen_err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(gen_err)?;
        let key_pem = key.serialize_pem();
        Ok(Authority {
            issuer: Issuer::new(params, key),
            pem: cert.pem(),
            key_pem,
        })
    }

    /// Its certificate, PEM (what peers trust: `--tls-ca`).
    pub fn cert_pem(&self) -> &str {
        &self.pem
    }

    /// Its private key, PEM. Keep it secret.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// A server certificate for `names` (DNS names or IP addresses),
    /// valid from 1975 to 4096.
    ///
    /// # Errors
    ///
    /// [`TlsError::Generate`] if a name is not valid or rcgen fails.
    pub fn issue_server(&self, names: &[&str]) -> Result<Issued, TlsError> {
        self.issue(names, Usage::Server, None)
    }

    /// A client certificate named `name`.
    ///
    /// # Errors
    ///
    /// [`TlsError::Generate`] if rcgen fails.
    pub fn issue_client(&self, name: &str) -> Result<Issued, TlsError> {
        self.issue(&[name], Usage::Client, None)
    }

    /// A certificate for `names` and `usage`, valid between the dates
    /// `valid` (year, month, day), if given (an expired one, for tests:
    /// `Some(((2000, 1, 1), (2001, 1, 1)))`).
    ///
    /// # Errors
    ///
    /// [`TlsError::Generate`] if a name or date is not valid or rcgen
    /// fails.
    pub fn issue(
        &self,
        names: &[&str],
        usage: Usage,
        valid: Option<(Date, Date)>,
    ) -> Result<Issued, TlsError> {
        let key = KeyPair::generate().map_err(gen_err)?;
        let sans: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(sans).map_err(gen_err)?;
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![match usage {
            Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        if let Some(((y0, m0, d0), (y1, m1, d1))) = valid {
            params.not_before = date_time_ymd(y0, m0, d0);
            params.not_after = date_time_ymd(y1, m1, d1);
        }
        let cert = params.signed_by(&key, &self.issuer).map_err(gen_err)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

/// The files [`write_cert_set`] writes, in `dir`.
pub const CERT_SET_FILES: [&str; 4] = ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem"];

/// The files [`write_cert_set`] writes too when asked for a client
/// certificate.
pub const CLIENT_CERT_FILES: [&str; 2] = ["client.pem", "client-key.pem"];

/// Writes a fresh CA (`ca.pem`, `ca-key.pem`) and a server certificate for
/// `localhost` and `127.0.0.1` signed by it (`server.pem`,
/// `server-key.pem`) into `dir` (made if missing), and with `client` a
/// client certificate signed by it too (`client.pem`, `client-key.pem`,
/// for mutual TLS); returns the paths. Keys are written readable by their
/// owner only.
///
/// # Errors
///
/// [`TlsError::Write`] if `dir` or a file cannot be written.
pub fn write_cert_set(dir: &Path, client: bool) -> Result<Vec<PathBuf>, TlsError> {
    let ca = Authority::new("hio CA")?;
    let server = ca.issue_server(&["localhost", "127.0.0.1"])?;
    let client = if client {
        Some(ca.issue_client("hio client")?)
    } else {
        None
    };
    std::fs::create_dir_all(dir).map_err(|e| TlsError::Write {
        path: dir.to_path_buf(),
        kind: e.kind(),
    })?;
    let mut contents = vec![
        (CERT_SET_FILES[0], ca.cert_pem(), false),
        (CERT_SET_FILES[1], ca.key_pem(), true),
        (CERT_SET_FILES[2], server.cert_pem.as_str(), false),
        (CERT_SET_FILES[3], server.key_pem.as_str(), true),
    ];
    if let Some(c) = &client {
        contents.push((CLIENT_CERT_FILES[0], c.cert_pem.as_str(), false));
        contents.push((CLIENT_CERT_FILES[1], c.key_pem.as_str(), true));
    }
    let mut paths = Vec::new();
    for (name, text, secret) in contents {
        let path = dir.join(name);
        write_file(&path, text, secret).map_err(|e| TlsError::Write {
            path: path.clone(),
            kind: e.kind(),
        })?;
        paths.push(path);
    }
    Ok(paths)
}

fn write_file(path: &Path, text: &str, secret: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if secret { 0o600 } else { 0o644 })
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}
