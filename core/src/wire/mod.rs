//! HTTP request and response types shared by the wallet, verifiers and the authority,
//! so client and server cannot drift. (Filled out by the authority work.)
