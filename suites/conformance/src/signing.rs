//! Signed copies of fixture components: wascap claims embedded with fresh keys, written where the
//! lattice's hosts can load them, for tests that need a signed entity (claims, secrets).
use std::time::{SystemTime, UNIX_EPOCH};

use harness::fixtures::FixtureRef;
use nkeys::KeyPair;
use wascap::jwt::{Claims, Component};

use crate::framework::Cx;

/// A signed copy of a component, deleted when dropped.
pub struct Signed {
    /// The file the hosts load.
    pub path: tempfile::TempPath,
    /// The issuer (account) public key.
    pub account: String,
    /// The subject (module) public key: the component's identity in claims and secrets requests.
    pub module: String,
}

impl Signed {
    /// The `file://` reference hosts load it by.
    pub fn file_ref(&self) -> String {
        format!("file://{}", self.path.display())
    }
}

/// Signs `wasm` with a fresh account and module key; `expires` / `not_before` in epoch seconds.
/// Returns the signed bytes, the account and the module public keys.
pub fn sign(
    wasm: &[u8],
    name: &str,
    not_before: Option<u64>,
    expires: Option<u64>,
) -> anyhow::Result<(Vec<u8>, String, String)> {
    let account = KeyPair::new_account();
    let module = KeyPair::new_module();
    let claims = Claims::<Component>::with_dates(
        name.to_string(),
        account.public_key(),
        module.public_key(),
        Some(vec!["conformance".to_string()]),
        not_before,
        expires,
        false,
        Some(3),
        Some("0.1.0".to_string()),
        None,
    );
    let signed = wascap::wasm::embed_claims(wasm, &claims, &account)
        .map_err(|e| anyhow::anyhow!("wascap embed_claims: {e}"))?;
    Ok((signed, account.public_key(), module.public_key()))
}

/// Writes `bytes` where the lattice's hosts can load it (containers see only what is mounted).
pub fn write(cx: &Cx, bytes: &[u8]) -> anyhow::Result<tempfile::TempPath> {
    let file = tempfile::Builder::new()
        .prefix("wcc-signed-")
        .suffix(".wasm")
        .tempfile_in(cx.lattice().shared_dir())?;
    std::fs::write(file.path(), bytes)?;
    Ok(file.into_temp_path())
}

/// A copy of `fixture` signed as `name`, valid from `not_before` until `expires` (epoch seconds).
pub fn signed_copy(
    cx: &Cx,
    fixture: FixtureRef,
    name: &str,
    not_before: Option<u64>,
    expires: Option<u64>,
) -> anyhow::Result<Signed> {
    let wasm = std::fs::read(&cx.fixture(fixture)?.path)?;
    let (bytes, account, module) = sign(&wasm, name, not_before, expires)?;
    Ok(Signed {
        path: write(cx, &bytes)?,
        account,
        module,
    })
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
