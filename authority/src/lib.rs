//! `edl-authority`: the issuing-authority server (filled by the authority issue).
