//! TLS for the end-to-end tests: throwaway CAs and certificates made with rcgen and written to a
//! temporary directory, socat as the TLS side of peers that only speak TCP (Debian's sipp has no
//! TLS), and a rustls client for checking what happens during a handshake.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use crate::stream::wait_tcp_listener;

/// A certificate and its key, as DER and as PEM files.
pub struct Issued {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Issued {
    /// `certificate_flag FILE key_flag FILE`, for a command line.
    pub fn as_args(&self, certificate_flag: &str, key_flag: &str) -> Vec<std::ffi::OsString> {
        vec![
            certificate_flag.into(),
            self.certificate.clone().into(),
            key_flag.into(),
            self.private_key.clone().into(),
        ]
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.der.clone()
    }

    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// A throwaway certificate authority whose files live in `dir`.
pub struct Ca {
    name: String,
    dir: PathBuf,
    certificate: rcgen::Certificate,
    key: KeyPair,
    /// The CA certificate, PEM: what `tls_ca` and `client_ca` point to.
    pub pem: PathBuf,
}

impl Ca {
    /// A new CA called `name` (distinct names keep issuers apart), its files written to `dir`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("Legate test CA {name}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let certificate = params.self_signed(&key).unwrap();
        let pem = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&pem, certificate.pem()).unwrap();
        Ca {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            certificate,
            key,
            pem,
        }
    }

    /// A server certificate for 127.0.0.1 and `localhost`.
    pub fn server(&self, label: &str) -> Issued {
        self.issue(
            label,
            localhost(),
            vec![ExtendedKeyUsagePurpose::ServerAuth],
        )
    }

    /// A client certificate whose subjectAltName is the DNS name `label`.
    pub fn client(&self, label: &str) -> Issued {
        self.issue(
            label,
            vec![dns(label)],
            vec![ExtendedKeyUsagePurpose::ClientAuth],
        )
    }

    /// An organisation's domain certificate, as SIP federation uses it (RFC 5922): it names
    /// `domain` (and 127.0.0.1 and `localhost`, so the tests can connect by address) and serves
    /// both as server and as client certificate.
    pub fn domain(&self, domain: &str) -> Issued {
        let mut names = vec![dns(domain)];
        names.extend(localhost());
        self.issue(
            domain,
            names,
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        )
    }

    /// A server certificate naming only `names` (a partner's domains; IP addresses too).
    pub fn server_for(&self, label: &str, names: &[&str]) -> Issued {
        let san = |name: &&str| match name.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => dns(name),
        };
        self.issue(
            label,
            names.iter().map(san).collect(),
            vec![ExtendedKeyUsagePurpose::ServerAuth],
        )
    }

    /// A server certificate whose only name is the URI `sip:domain` (RFC 5922 §7.1).
    pub fn server_for_sip_uri(&self, label: &str, domain: &str) -> Issued {
        self.issue(
            label,
            vec![SanType::URI(format!("sip:{domain}").try_into().unwrap())],
            vec![ExtendedKeyUsagePurpose::ServerAuth],
        )
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.certificate.der().clone()
    }

    fn issue(
        &self,
        label: &str,
        names: Vec<SanType>,
        usages: Vec<ExtendedKeyUsagePurpose>,
    ) -> Issued {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{label} ({})", self.name));
        params.subject_alt_names = names;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = usages;
        let certificate = params
            .signed_by(&key, &self.certificate, &self.key)
            .unwrap();
        let stem = format!("{}-{label}", self.name);
        let cert_path = self.dir.join(format!("{stem}.pem"));
        let key_path = self.dir.join(format!("{stem}.key"));
        std::fs::write(&cert_path, certificate.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        Issued {
            certificate: cert_path,
            private_key: key_path,
            der: certificate.der().clone(),
            key_der: key.serialize_der(),
        }
    }
}

fn dns(name: &str) -> SanType {
    SanType::DnsName(name.try_into().unwrap())
}

fn localhost() -> Vec<SanType> {
    vec![
        dns("localhost"),
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    ]
}

/// A socat process (and the children it forks per connection); all killed on drop.
pub struct Socat {
    child: Child,
    log: PathBuf,
}

impl Socat {
    /// Accepts plain TCP on `listen` and forwards each connection over TLS to `upstream`,
    /// verifying it against `ca` and presenting `client` if given.
    pub fn tcp_to_tls(
        dir: &Path,
        listen: u16,
        upstream: u16,
        ca: &Ca,
        client: Option<&Issued>,
    ) -> Socat {
        let mut target = format!(
            "OPENSSL:127.0.0.1:{upstream},cafile={},verify=1,nosni=1",
            ca.pem.display()
        );
        if let Some(client) = client {
            target.push_str(&format!(
                ",cert={},key={}",
                client.certificate.display(),
                client.private_key.display()
            ));
        }
        Socat::start(
            dir,
            listen,
            &format!("TCP-LISTEN:{listen},bind=127.0.0.1,reuseaddr,fork"),
            &target,
        )
    }

    /// Accepts TLS on `listen` with `server`'s certificate (asking for no client certificate)
    /// and forwards each connection as plain TCP to `downstream`.
    pub fn tls_to_tcp(dir: &Path, listen: u16, downstream: u16, server: &Issued) -> Socat {
        Socat::start(
            dir,
            listen,
            &format!(
                "OPENSSL-LISTEN:{listen},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={},key={}",
                server.certificate.display(),
                server.private_key.display()
            ),
            &format!("TCP:127.0.0.1:{downstream}"),
        )
    }

    fn start(dir: &Path, port: u16, listen: &str, target: &str) -> Socat {
        let log = dir.join(format!("socat-{port}.log"));
        let child = Command::new("socat")
            .args(["-d", listen, target])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            // Its own process group, so the children forked per connection go with it.
            .process_group(0)
            .spawn()
            .expect("socat not found: run tests/prereqs.sh test");
        let socat = Socat { child, log };
        assert!(
            wait_tcp_listener(port, Duration::from_secs(10)),
            "socat did not listen on {port}: {}",
            socat.log()
        );
        socat
    }

    /// What socat reported so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TLS connection from the test itself, verifying the server against `ca` (as 127.0.0.1) and
/// presenting `client` if given.
pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

pub fn tls_connect(port: u16, ca: &Ca, client: Option<&Issued>) -> TlsStream {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.certificate.der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some(client) => builder
            .with_client_auth_cert(vec![client.der()], client.key_der())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    rustls::StreamOwned::new(connection, socket)
}
