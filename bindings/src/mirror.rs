//! The one way a fieldless enum of `edl-core` gets its FFI copy.
//!
//! `mirror_enum!` declares the FFI enum and both conversions with exhaustive matches, so a
//! variant added to the core (or to the copy) fails to compile until the other side has it.
//! Records are written by hand with a `From` impl beside them: they differ in names and
//! units (`at` → `at_unix`), which a macro would only hide.

/// `mirror_enum!(#[doc] pub enum Ffi = core::Path { #[doc] A, B, … });`
macro_rules! mirror_enum {
    (
        $(#[$meta:meta])*
        pub enum $ffi:ident = $core:path {
            $($(#[$vmeta:meta])* $v:ident),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ffi {
            $($(#[$vmeta])* $v),+
        }

        impl From<$core> for $ffi {
            fn from(v: $core) -> Self {
                use $core as C;
                match v {
                    $(C::$v => $ffi::$v),+
                }
            }
        }

        impl From<$ffi> for $core {
            fn from(v: $ffi) -> Self {
                use $core as C;
                match v {
                    $($ffi::$v => C::$v),+
                }
            }
        }
    };
}

pub(crate) use mirror_enum;
