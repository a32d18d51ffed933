//! Loopback ports for the listeners a test or the harness opens: the one place a free port is
//! picked.
use crate::error::HarnessError;

/// A TCP port free on 127.0.0.1 right now (the OS picks it; another process may take it before
/// it is bound again, so bind it soon).
pub fn free_port() -> Result<u16, HarnessError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(HarnessError::io("find a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(HarnessError::io("find a free port"))?
        .port())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_port_is_free_again() {
        let port = super::free_port().unwrap();
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port can be bound");
    }
}
