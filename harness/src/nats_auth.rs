//! NATS with accounts and TLS (catalogue SEC-04): an operator, the lattice's account (JetStream on)
//! and a second account, users with signed JWTs, and optionally a certificate authority and a
//! server certificate made at run time. [`crate::lattice::LatticeBuilder::nats_auth`] starts the
//! lattice's NATS with them and gives every client its own user.
//!
//! JWTs are built from the nats-io/jwt schema (`nats-io-jwt`) and signed with nkeys; certificates
//! come from `rcgen`. Nothing here is kept after the lattice: keys are new every run.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[cfg(feature = "nats-auth")]
use nats_io_jwt::{Account, Operator, OperatorLimits, SystemAccount, Token, User};
#[cfg(feature = "nats-auth")]
use nkeys::KeyPair;

use crate::error::HarnessError;

/// What the lattice's NATS asks of its clients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthMode {
    /// Require TLS on every client connection, with a certificate the run's own CA signed.
    pub tls: bool,
}

/// The users [`NatsAuth`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Who {
    /// The harness's own clients (control interface, wadm API, events, wRPC).
    Harness,
    /// The hosts' control-interface connections.
    Ctl,
    /// The hosts' RPC connections (and, through host data, their providers').
    Rpc,
    /// wadm.
    Wadm,
    /// A user of another account of the same operator: it shares the server, not the lattice.
    Other,
    /// A user signed by an account the operator never signed: the server must refuse it.
    Forged,
}

impl Who {
    #[cfg_attr(not(feature = "nats-auth"), allow(dead_code))]
    const ALL: [Who; 6] = [
        Who::Harness,
        Who::Ctl,
        Who::Rpc,
        Who::Wadm,
        Who::Other,
        Who::Forged,
    ];

    #[cfg_attr(not(feature = "nats-auth"), allow(dead_code))]
    fn name(self) -> &'static str {
        match self {
            Who::Harness => "harness",
            Who::Ctl => "ctl",
            Who::Rpc => "rpc",
            Who::Wadm => "wadm",
            Who::Other => "other",
            Who::Forged => "forged",
        }
    }
}

/// A user's JWT and nkey seed.
#[derive(Clone)]
pub struct Creds {
    /// The user JWT, signed by its account.
    pub jwt: String,
    /// The user's nkey seed (`SU...`).
    pub seed: String,
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Creds")
            .field("jwt", &self.jwt)
            .finish_non_exhaustive()
    }
}

impl Creds {
    /// The credentials file text (the format `nsc` writes and NATS clients read).
    pub fn file_text(&self) -> String {
        format!(
            "-----BEGIN NATS USER JWT-----\n{}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\
             NKEYs are sensitive and should be treated as secrets.\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
             *************************************************************\n",
            self.jwt, self.seed
        )
    }
}

/// The PEM files of a TLS setup.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
    /// A CA that signed nothing the server presents: trusting only it must fail.
    pub rogue_ca: PathBuf,
    /// The server's certificate (for the names it was made for).
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

/// Operator, accounts, users and (optionally) certificates of one lattice, written under a folder.
#[derive(Clone, Debug)]
pub struct NatsAuth {
    creds: BTreeMap<Who, Creds>,
    files: BTreeMap<Who, PathBuf>,
    operator_jwt: String,
    system_account: String,
    accounts: Vec<(String, String)>,
    account: String,
    other_account: String,
    tls: Option<TlsFiles>,
}

#[cfg(feature = "nats-auth")]
fn user(account: &KeyPair, name: &str) -> Creds {
    let key = KeyPair::new_user();
    let claims = User {
        bearer_token: false,
        ..Default::default()
    };
    Creds {
        jwt: Token::new(key.public_key())
            .name(name)
            .claims(claims)
            .sign(account),
        seed: key.seed().unwrap_or_default(),
    }
}

#[cfg(feature = "nats-auth")]
fn account(operator: &KeyPair, key: &KeyPair, name: &str, jetstream: bool) -> String {
    let limits = match jetstream {
        true => OperatorLimits::default(),
        false => OperatorLimits {
            mem_storage: 0,
            disk_storage: 0,
            streams: 0,
            consumer: 0,
            ..Default::default()
        },
    };
    let claims = Account {
        limits: Some(limits),
        ..Default::default()
    };
    Token::new(key.public_key())
        .name(name)
        .claims(claims)
        .sign(operator)
}

impl NatsAuth {
    /// Needs the harness feature `nats-auth`; without it this is a configuration error.
    #[cfg(not(feature = "nats-auth"))]
    pub fn generate(_: &Path, _: AuthMode, _: &[String]) -> Result<Self, HarnessError> {
        Err(HarnessError::Config(
            "NATS with accounts needs the harness built with its feature `nats-auth`".into(),
        ))
    }

    /// Makes new keys, JWTs and (with `mode.tls`) a CA and a server certificate valid for
    /// `server_names` (DNS names or IP addresses), and writes the credentials files and PEM files
    /// into `dir`.
    #[cfg(feature = "nats-auth")]
    pub fn generate(
        dir: &Path,
        mode: AuthMode,
        server_names: &[String],
    ) -> Result<Self, HarnessError> {
        std::fs::create_dir_all(dir)
            .map_err(HarnessError::io(format!("create {}", dir.display())))?;
        let operator = KeyPair::new_operator();
        let system = KeyPair::new_account();
        let lattice = KeyPair::new_account();
        let other = KeyPair::new_account();
        let unknown = KeyPair::new_account();
        let operator_claims = Operator {
            system_account: Some(SystemAccount(system.public_key())),
            ..Default::default()
        };
        let operator_jwt = Token::new(operator.public_key())
            .name("wcc-operator")
            .claims(operator_claims)
            .sign(&operator);
        let accounts = vec![
            (
                system.public_key(),
                account(&operator, &system, "SYS", false),
            ),
            (
                lattice.public_key(),
                account(&operator, &lattice, "LATTICE", true),
            ),
            (
                other.public_key(),
                account(&operator, &other, "OTHER", true),
            ),
        ];
        let mut creds = BTreeMap::new();
        for who in Who::ALL {
            let signer = match who {
                Who::Other => &other,
                Who::Forged => &unknown,
                _ => &lattice,
            };
            creds.insert(who, user(signer, who.name()));
        }
        let mut files = BTreeMap::new();
        for (who, c) in &creds {
            let path = dir.join(format!("{}.creds", who.name()));
            write(&path, &c.file_text())?;
            files.insert(*who, path);
        }
        let tls = match mode.tls {
            true => Some(certificates(dir, server_names)?),
            false => None,
        };
        Ok(Self {
            creds,
            files,
            operator_jwt,
            system_account: system.public_key(),
            accounts,
            account: lattice.public_key(),
            other_account: other.public_key(),
            tls,
        })
    }

    /// The credentials of `who`.
    pub fn creds(&self, who: Who) -> &Creds {
        &self.creds[&who]
    }

    /// The credentials file of `who`.
    pub fn creds_file(&self, who: Who) -> &Path {
        &self.files[&who]
    }

    /// The TLS files, when the server requires TLS.
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The lattice's account (public key).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The other account (public key): a client of it must see nothing of the lattice.
    pub fn other_account(&self) -> &str {
        &self.other_account
    }

    /// The server configuration for these accounts (and TLS, with the PEM files at
    /// `cert_dir/{cert,key}.pem`): operator mode, the accounts preloaded in memory.
    pub(crate) fn server_config(&self, cert_dir: &str) -> String {
        let mut conf = format!(
            "operator: \"{}\"\nsystem_account: \"{}\"\nresolver: MEMORY\nresolver_preload: {{\n",
            self.operator_jwt, self.system_account
        );
        for (key, jwt) in &self.accounts {
            conf.push_str(&format!("  {key}: \"{jwt}\"\n"));
        }
        conf.push_str("}\n");
        if self.tls.is_some() {
            conf.push_str(&format!(
                "tls {{\n  cert_file: \"{cert_dir}/cert.pem\"\n  key_file: \"{cert_dir}/key.pem\"\n  timeout: 5\n}}\n"
            ));
        }
        conf
    }
}

#[cfg(feature = "nats-auth")]
fn write(path: &Path, text: &str) -> Result<(), HarnessError> {
    std::fs::write(path, text).map_err(HarnessError::io(format!("write {}", path.display())))
}

#[cfg(feature = "nats-auth")]
fn tls_error(e: rcgen::Error) -> HarnessError {
    HarnessError::Config(format!("cannot make the run's TLS certificates: {e}"))
}

/// A CA, a server certificate it signs for `names`, and a second CA that signs nothing.
#[cfg(feature = "nats-auth")]
fn certificates(dir: &Path, names: &[String]) -> Result<TlsFiles, HarnessError> {
    let ca =
        |cn: &str| -> Result<(rcgen::CertificateParams, rcgen::KeyPair, String), HarnessError> {
            let key = rcgen::KeyPair::generate().map_err(tls_error)?;
            let mut params =
                rcgen::CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
            params.key_usages = vec![
                rcgen::KeyUsagePurpose::KeyCertSign,
                rcgen::KeyUsagePurpose::CrlSign,
                rcgen::KeyUsagePurpose::DigitalSignature,
            ];
            let pem = params.self_signed(&key).map_err(tls_error)?.pem();
            Ok((params, key, pem))
        };
    let (ca_params, ca_key, ca_pem) = ca("wasmcloud-conformance run CA")?;
    let (_, _, rogue_pem) = ca("wasmcloud-conformance rogue CA")?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = rcgen::KeyPair::generate().map_err(tls_error)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(tls_error)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "nats-server");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&server_key, &issuer).map_err(tls_error)?;
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        rogue_ca: dir.join("rogue-ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    write(&files.ca, &ca_pem)?;
    write(&files.rogue_ca, &rogue_pem)?;
    write(&files.cert, &cert.pem())?;
    write(&files.key, &server_key.serialize_pem())?;
    Ok(files)
}

#[cfg(all(test, feature = "nats-auth"))]
mod tests {
    use super::*;

    fn claims(jwt: &str) -> serde_json::Value {
        use base64::Engine as _;
        let body = jwt.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn users_are_signed_by_their_accounts_and_accounts_by_the_operator() {
        let dir = tempfile::tempdir().unwrap();
        let auth =
            NatsAuth::generate(dir.path(), AuthMode { tls: true }, &["127.0.0.1".into()]).unwrap();
        let harness = claims(&auth.creds(Who::Harness).jwt);
        assert_eq!(harness["iss"], auth.account());
        assert_eq!(harness["nats"]["type"], "user");
        assert_eq!(harness["nats"]["bearer_token"], false);
        assert_eq!(
            claims(&auth.creds(Who::Other).jwt)["iss"],
            auth.other_account()
        );
        let forged = claims(&auth.creds(Who::Forged).jwt)["iss"].clone();
        assert!(forged != auth.account() && forged != auth.other_account());
        let conf = auth.server_config("/certs");
        assert!(conf.contains("resolver: MEMORY") && conf.contains(auth.account()));
        assert!(conf.contains("cert_file: \"/certs/cert.pem\""));
        let text = std::fs::read_to_string(auth.creds_file(Who::Rpc)).unwrap();
        assert!(text.contains(&auth.creds(Who::Rpc).jwt) && text.contains("BEGIN USER NKEY SEED"));
        let tls = auth.tls().unwrap();
        assert!(std::fs::read_to_string(&tls.cert)
            .unwrap()
            .contains("BEGIN CERTIFICATE"));
        let account = auth
            .accounts
            .iter()
            .find(|(k, _)| k == auth.account())
            .unwrap();
        assert_eq!(claims(&account.1)["nats"]["limits"]["disk_storage"], -1);
    }
}
