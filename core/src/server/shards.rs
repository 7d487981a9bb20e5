//! The shards: the D1 databases workspaces live in, as the `SHARDS` setting names them.
//!
//! Each workspace lives in one shard with its apps, its idempotency records and its API
//! keys, so a request touches one database. The first shard also holds the directory
//! (which shard each workspace and API key lives in) and the operators' idempotency
//! records. A shard's name is its D1 binding; the directory stores it, so a shard is never
//! renamed or removed, and new shards are added at the end. A shard's place in the list is
//! the class of the client ids it mints ([`ClientIdClass`]), so the list holds at most
//! [`CLIENT_ID_CLASSES`] shards. A new workspace goes to the smallest shard, and only if
//! that shard is migrated ([`place`]).

use crate::rules::random::{Entropy, BASE62};
use crate::wire::ids::ClientId;
use std::fmt;

/// The longest shard name: a Worker binding name, far shorter in practice.
pub const MAX_SHARD_NAME_LEN: usize = 64;

/// Whether `name` can name a shard: 1 to 64 ASCII letters, digits and underscores, as a
/// Worker binding is named.
pub fn is_shard_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SHARD_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The shards of a deployment, in the order they were added: never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardList(Vec<String>);

/// Why a `SHARDS` text is not a list of shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardListError {
    /// No shard named.
    Empty,
    /// A name that cannot be a binding's (letters, digits and `_`, at most 64).
    BadName(String),
    /// A name given twice.
    Repeated(String),
    /// More shards than classes of client ids.
    TooMany(usize),
}

impl fmt::Display for ShardListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "names no shard: give the D1 bindings, comma-separated"),
            Self::BadName(name) => write!(
                f,
                "{name:?} cannot be a D1 binding's name (letters, digits and _, at most 64)"
            ),
            Self::Repeated(name) => write!(f, "names {name:?} twice"),
            Self::TooMany(n) => write!(
                f,
                "names {n} shards, more than the {CLIENT_ID_CLASSES} classes of client ids"
            ),
        }
    }
}

impl ShardList {
    /// Reads `SHARDS`: binding names separated by commas (white space around them
    /// ignored), the first holding the directory.
    pub fn parse(text: &str) -> Result<Self, ShardListError> {
        let mut names: Vec<String> = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !is_shard_name(name) {
                return Err(ShardListError::BadName(name.to_owned()));
            }
            if names.iter().any(|n| n == name) {
                return Err(ShardListError::Repeated(name.to_owned()));
            }
            names.push(name.to_owned());
        }
        if names.is_empty() {
            return Err(ShardListError::Empty);
        }
        if ClientIdClass::new(names.len() - 1).is_none() {
            return Err(ShardListError::TooMany(names.len()));
        }
        Ok(Self(names))
    }

    /// The shard holding the directory and the operators' idempotency records.
    pub fn directory(&self) -> &str {
        &self.0[0]
    }

    /// Every shard, in order.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// Whether `name` is one of them.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|n| n == name)
    }

    /// The class of the client ids shard `name` mints: its place in the list.
    pub fn client_id_class(&self, name: &str) -> Option<ClientIdClass> {
        let place = self.0.iter().position(|n| n == name)?;
        ClientIdClass::new(place)
    }
}

/// The shard a new workspace goes to: the one with the fewest bytes, since D1 limits a
/// database's size (10 GB), not its rows; the first in `SHARDS` order among equals.
/// `sizes` holds each shard's name and bytes; `None` if it is empty.
pub fn roomiest(sizes: &[(String, u64)]) -> Option<&str> {
    sizes
        .iter()
        .enumerate()
        .min_by_key(|(i, (_, bytes))| (*bytes, *i))
        .map(|(_, (name, _))| name.as_str())
}

/// What a shard's database answered when a new workspace looked for a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Migrated to the Worker's latest schema, of this many bytes.
    Ready(u64),
    /// Of this many bytes, but without the Worker's latest migration.
    Behind(u64),
    /// No answer to size it by: not bound, never migrated, or failing (why, for people).
    Unknown(String),
}

/// The shard a new workspace goes to: the one with the fewest bytes ([`roomiest`]), if
/// it is ready; else why the workspace cannot be placed, naming the shard. A shard that
/// could not be sized refuses the placement whatever its size: a database that was never
/// migrated is nearly empty, so it would be the one chosen. `probes` holds each shard's
/// name and probe, in `SHARDS` order.
pub fn place(probes: &[(String, Probe)]) -> Result<&str, String> {
    let mut sizes = Vec::with_capacity(probes.len());
    for (name, probe) in probes {
        match probe {
            Probe::Ready(bytes) | Probe::Behind(bytes) => sizes.push((name.clone(), *bytes)),
            Probe::Unknown(why) => return Err(format!("shard {name} {why}")),
        }
    }
    let chosen = roomiest(&sizes).ok_or_else(|| "SHARDS names no shard".to_owned())?;
    let (name, probe) = probes
        .iter()
        .find(|(name, _)| name == chosen)
        .ok_or_else(|| "SHARDS names no shard".to_owned())?;
    match probe {
        Probe::Ready(_) => Ok(name),
        _ => Err(format!(
            "shard {name}, the one with the fewest bytes, is not migrated to the latest schema"
        )),
    }
}

/// How many classes client ids fall into. A client id, read as a base62 number (its first
/// character the most significant digit; `0`-`9`, `A`-`Z`, `a`-`z` are the digits 0 to 61),
/// belongs to the class of that number modulo this.
pub const CLIENT_ID_CLASSES: u16 = 1024;

/// 62^8, how many client ids there are.
const CLIENT_IDS: u64 = 62u64.pow(8);

/// A class of client ids: those a shard mints, the shard's place in `SHARDS` (counted from
/// 0; see [`ShardList::client_id_class`]). Shards mint from disjoint classes, so no two
/// shards ever mint the same id, although each shard's database only knows its own: client
/// ids are globally unique without a registry every create would have to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIdClass(u16);

impl ClientIdClass {
    /// The class of the first shard: every client id of a deployment with one shard.
    pub const FIRST: Self = Self(0);

    /// The class numbered `n`, if below [`CLIENT_ID_CLASSES`].
    pub fn new(n: usize) -> Option<Self> {
        u16::try_from(n)
            .ok()
            .filter(|&n| n < CLIENT_ID_CLASSES)
            .map(Self)
    }

    /// Its number.
    pub fn number(self) -> u16 {
        self.0
    }
}

impl ClientId {
    /// A fresh client id of `class`, drawn uniformly among the ids of that class: 62^8 /
    /// 1,024, about 2^37.6 values. The store's unique index catches the rare collision
    /// within a shard (at 13 million apps in one, about one new id in 16,000) and the
    /// caller mints again.
    pub fn generate(class: ClientIdClass, entropy: &mut dyn Entropy) -> Self {
        let classes = u64::from(CLIENT_ID_CLASSES);
        let class_n = u64::from(class.0);
        // The ids of the class are class_n + classes * k for k below this.
        let count = (CLIENT_IDS - class_n).div_ceil(classes);
        // Uniform k below `count`: 64-bit draws above the last whole multiple of `count`
        // are rejected rather than folded, which would favour the smaller values.
        let zone = u64::MAX - u64::MAX % count;
        let k = loop {
            let mut bytes = [0u8; 8];
            entropy.fill(&mut bytes);
            let draw = u64::from_le_bytes(bytes);
            if draw < zone {
                break draw % count;
            }
        };
        let mut value = class_n + classes * k;
        let mut id = [0u8; 8];
        for digit in id.iter_mut().rev() {
            *digit = BASE62[(value % 62) as usize];
            value /= 62;
        }
        Self::from_ascii(id)
    }

    /// The class this id belongs to, and so the shard that minted it.
    pub fn class(&self) -> ClientIdClass {
        let value = self.as_str().bytes().fold(0u64, |v, c| {
            let digit = BASE62.iter().position(|&b| b == c).unwrap_or(0) as u64;
            v * 62 + digit
        });
        ClientIdClass((value % u64::from(CLIENT_ID_CLASSES)) as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::SeededEntropy;

    #[test]
    fn a_list_of_bindings_reads_in_order() {
        let list = ShardList::parse(" SHARD_1, SHARD_2 ,SHARD_3,").unwrap();
        assert_eq!(list.names(), ["SHARD_1", "SHARD_2", "SHARD_3"]);
        assert_eq!(list.directory(), "SHARD_1");
        assert!(list.contains("SHARD_2") && !list.contains("SHARD_4"));
        let class = |name| list.client_id_class(name).map(ClientIdClass::number);
        assert_eq!((class("SHARD_1"), class("SHARD_3")), (Some(0), Some(2)));
        assert_eq!(class("SHARD_4"), None);
        assert_eq!(ShardList::parse("DB").unwrap().directory(), "DB");
    }

    #[test]
    fn shard_names_are_binding_names() {
        assert!(is_shard_name("SHARD_1") && is_shard_name("db") && is_shard_name("_"));
        assert!(!is_shard_name("") && !is_shard_name("a-b") && !is_shard_name("a:b"));
        assert!(is_shard_name(&"a".repeat(64)) && !is_shard_name(&"a".repeat(65)));
    }

    #[test]
    fn bad_lists_say_what_is_wrong() {
        assert_eq!(ShardList::parse(""), Err(ShardListError::Empty));
        assert_eq!(ShardList::parse(" , "), Err(ShardListError::Empty));
        assert_eq!(
            ShardList::parse("SHARD_1,SHARD-2"),
            Err(ShardListError::BadName("SHARD-2".into()))
        );
        assert_eq!(
            ShardList::parse("A,B,A"),
            Err(ShardListError::Repeated("A".into()))
        );
        assert!(ShardListError::Empty.to_string().contains("no shard"));
        let names = |n: usize| {
            (0..n)
                .map(|i| format!("S{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(ShardList::parse(&names(1024)).unwrap().names().len(), 1024);
        assert_eq!(
            ShardList::parse(&names(1025)),
            Err(ShardListError::TooMany(1025))
        );
    }

    #[test]
    fn new_workspaces_go_to_the_smallest_database() {
        let sizes = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
            v.iter().map(|(n, b)| (n.to_string(), *b)).collect()
        };
        assert_eq!(
            roomiest(&sizes(&[("A", 30), ("B", 20), ("C", 25)])),
            Some("B")
        );
        assert_eq!(roomiest(&sizes(&[("A", 20), ("B", 20)])), Some("A"));
        assert_eq!(
            roomiest(&sizes(&[("A", 21), ("B", 20), ("C", 20)])),
            Some("B")
        );
        assert_eq!(roomiest(&[]), None);
    }

    #[test]
    fn a_workspace_is_placed_only_in_a_ready_shard() {
        let probes = |v: &[(&str, Probe)]| -> Vec<(String, Probe)> {
            v.iter().map(|(n, p)| (n.to_string(), p.clone())).collect()
        };
        let ready = probes(&[("A", Probe::Ready(30)), ("B", Probe::Ready(20))]);
        assert_eq!(place(&ready), Ok("B"));
        // A shard behind the schema is passed over only while it is not the roomiest.
        let behind_big = probes(&[("A", Probe::Ready(20)), ("B", Probe::Behind(30))]);
        assert_eq!(place(&behind_big), Ok("A"));
        let behind_small = probes(&[("A", Probe::Ready(30)), ("B", Probe::Behind(20))]);
        let why = place(&behind_small).unwrap_err();
        assert!(
            why.contains("shard B") && why.contains("not migrated"),
            "{why}"
        );
        let unknown = probes(&[
            ("A", Probe::Ready(1)),
            ("B", Probe::Unknown("is not bound".into())),
        ]);
        assert_eq!(place(&unknown), Err("shard B is not bound".to_owned()));
        assert!(place(&[]).is_err());
    }

    #[test]
    fn a_client_ids_class_is_its_base62_value_modulo_1024() {
        let class = |id: &str| ClientId::parse(id).unwrap().class().number();
        assert_eq!(class("00000000"), 0);
        assert_eq!(class("0000000G"), 16);
        assert_eq!(class("00000010"), 62);
        assert_eq!(class("000000GG"), 16 * 62 + 16);
        assert_eq!(class("00000100"), 62 * 62 - 3 * 1024);
        // 62^8 - 1, and 62^8 = 1024 * 213,222,759,360 + 256.
        assert_eq!(class("zzzzzzzz"), 255);
        assert_eq!(
            ClientIdClass::new(1023).map(ClientIdClass::number),
            Some(1023)
        );
        assert_eq!(ClientIdClass::new(1024), None);
    }

    #[test]
    fn client_ids_of_a_class_spread_over_the_whole_range() {
        // The leading character of an id drawn uniformly within its class is uniform too:
        // each of the 62 is expected 1,000 times in 62,000 ids.
        let mut e = SeededEntropy::new(11);
        let mut counts = [0u32; 62];
        for _ in 0..62_000 {
            let id = ClientId::generate(ClientIdClass(1023), &mut e);
            let first = id.as_str().as_bytes()[0];
            counts[BASE62.iter().position(|&c| c == first).unwrap()] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }

    proptest::proptest! {
        #[test]
        fn a_minted_client_id_names_its_class(n in 0usize..1024, seed: u64) {
            let class = ClientIdClass::new(n).unwrap();
            let id = ClientId::generate(class, &mut SeededEntropy::new(seed));
            proptest::prop_assert_eq!(ClientId::parse(id.as_str()), Ok(id));
            proptest::prop_assert_eq!(id.class(), class);
        }
    }
}
