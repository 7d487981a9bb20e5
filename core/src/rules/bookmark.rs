//! `X-Connect-Bookmark`: how a caller reads its own writes when reads may be served by a
//! D1 read replica.
//!
//! Every answer of the workspace API carries the bookmark of the database state it saw; a
//! request that sends it back is served by a replica at least that recent. The header's
//! value is the shard the workspace lives in and D1's own bookmark of that database,
//! `SHARD_1:00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683`: D1 bookmarks
//! order the states of one database only, so a bookmark of another shard says nothing
//! about this workspace's database and is not applied to it.
//!
//! D1 takes any string as a bookmark (locally it even echoes it back), so the format is
//! checked here: D1's bookmarks are four groups of 8, 8, 8 and 32 hexadecimal digits.

use crate::rules::error::FieldError;
use std::fmt;

/// The header's name, as errors name it.
pub const HEADER: &str = "X-Connect-Bookmark";

/// The lengths of the hexadecimal groups of a D1 bookmark.
const D1_GROUPS: [usize; 4] = [8, 8, 8, 32];

/// The longest shard name: a Worker binding name, far shorter in practice.
pub const MAX_SHARD_NAME_LEN: usize = 64;

/// A valid bookmark: a shard's name and D1's bookmark of that shard's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bookmark {
    shard: String,
    d1: String,
}

/// Whether `name` can name a shard: 1 to 64 ASCII letters, digits and underscores, as a
/// Worker binding is named.
pub fn is_shard_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SHARD_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `text` has the shape of a D1 bookmark.
fn is_d1_bookmark(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == D1_GROUPS.len()
        && groups
            .iter()
            .zip(D1_GROUPS)
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Reads the header's value: `None` when it is empty (a script that sends its last
/// bookmark before it has one), else the bookmark as this API sent it.
pub fn from_header(raw: &str) -> Result<Option<Bookmark>, FieldError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    Bookmark::parse(raw).map(Some)
}

impl Bookmark {
    /// Reads a bookmark as this API sent it.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = || {
            FieldError::invalid(
                HEADER,
                "must be a bookmark as this API sent it in X-Connect-Bookmark (shard:bookmark); send the latest one received, or none",
            )
        };
        let (shard, d1) = raw.trim().split_once(':').ok_or_else(invalid)?;
        Self::new(shard, d1).ok_or_else(invalid)
    }

    /// The bookmark D1 gave for `shard`'s database, if it has D1's shape and `shard` can
    /// name a shard.
    pub fn new(shard: &str, d1: &str) -> Option<Self> {
        (is_shard_name(shard) && is_d1_bookmark(d1)).then(|| Self {
            shard: shard.to_owned(),
            d1: d1.to_owned(),
        })
    }

    /// The shard whose database it orders.
    pub fn shard(&self) -> &str {
        &self.shard
    }

    /// D1's bookmark, to start a session at.
    pub fn d1(&self) -> &str {
        &self.d1
    }
}

impl fmt::Display for Bookmark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.shard, self.d1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const D1: &str = "00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683";

    #[test]
    fn a_bookmark_as_sent_reads_back() {
        let raw = format!("SHARD_1:{D1}");
        let b = Bookmark::parse(&raw).unwrap();
        assert_eq!((b.shard(), b.d1()), ("SHARD_1", D1));
        assert_eq!(b.to_string(), raw);
        assert_eq!(Bookmark::new("SHARD_1", D1), Some(b));
    }

    #[test]
    fn malformed_bookmarks_name_the_header() {
        let local = "00000000-00000003-00000000-00000000000000000000000000000000";
        assert!(Bookmark::parse(&format!("SHARD_2:{local}")).is_ok());
        assert_eq!(from_header(""), Ok(None));
        assert_eq!(from_header("  "), Ok(None));
        assert!(from_header(&format!("SHARD_1:{D1}")).unwrap().is_some());
        assert_eq!(from_header(":").unwrap_err().parameter, HEADER);
        for bad in [
            "",
            ":",
            D1,
            "first-primary",
            "first-unconstrained",
            &format!(":{D1}"),
            &format!("SHARD 1:{D1}"),
            &format!("SHARD-1:{D1}"),
            &format!("SHARD_1:{D1}0"),
            &format!("SHARD_1:{}", &D1[1..]),
            &format!("SHARD_1:{}", D1.replace('-', "")),
            &format!("SHARD_1:{}", D1.replacen('0', "g", 1)),
            &format!("SHARD_1:{D1}-00000000"),
            &format!("SHARD_1:{D1}:x"),
            &format!("{}:{D1}", "S".repeat(65)),
            "SHARD_1:' OR 1=1 --",
        ] {
            let e = Bookmark::parse(bad).unwrap_err();
            assert_eq!(e.parameter, HEADER, "{bad:?}");
        }
    }

    #[test]
    fn shard_names_are_binding_names() {
        assert!(is_shard_name("SHARD_1") && is_shard_name("db") && is_shard_name("_"));
        assert!(!is_shard_name("") && !is_shard_name("a-b") && !is_shard_name("a:b"));
        assert!(is_shard_name(&"a".repeat(64)) && !is_shard_name(&"a".repeat(65)));
    }

    proptest! {
        #[test]
        fn what_is_sent_parses_back(
            shard in "[A-Za-z0-9_]{1,64}",
            groups in ("[0-9a-f]{8}", "[0-9a-f]{8}", "[0-9A-F]{8}", "[0-9a-f]{32}"),
        ) {
            let d1 = format!("{}-{}-{}-{}", groups.0, groups.1, groups.2, groups.3);
            let b = Bookmark::new(&shard, &d1).unwrap();
            prop_assert_eq!(Bookmark::parse(&b.to_string()).unwrap(), b);
        }

        #[test]
        fn parsing_never_panics_and_accepts_only_what_it_can_send(raw in "\\PC{0,120}") {
            if let Ok(b) = Bookmark::parse(&raw) {
                prop_assert_eq!(b.to_string(), raw.trim());
            }
        }
    }
}
