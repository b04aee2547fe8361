//! An answer's body read with a bound, for every HTTP client of the project (the core's and
//! the CLI's): a broken or hostile server cannot fill memory with an answer without end
//! (the second hostile review's R13 and R16).

use reqwest::Response;

/// Why a bounded read of an answer's body stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyReadError {
    /// The answer declared, or sent, more than the bound.
    #[error("the answer is larger than expected")]
    TooLarge,
    /// The connection failed while the body was on its way.
    #[error("the answer was cut off")]
    Transport(#[source] reqwest::Error),
}

/// The body of `response`, refused once it passes `max` bytes: by its declared length
/// before anything is read, else as soon as the bytes received pass it.
pub async fn read_capped(response: &mut Response, max: usize) -> Result<Vec<u8>, BodyReadError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyReadError::TooLarge);
    }
    // Sized once when the length is declared: a growing buffer would leave copies of what
    // it held (a TOTP seed's text, R14) in memory it gave back.
    let declared = response.content_length().map_or(0, |n| n as usize);
    let mut bytes = Vec::with_capacity(declared.min(max));
    while let Some(chunk) = response.chunk().await.map_err(BodyReadError::Transport)? {
        if bytes.len() + chunk.len() > max {
            return Err(BodyReadError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
