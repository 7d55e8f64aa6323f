//! The password-hashing adapter: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane),
//! a fresh random salt per hash, PHC strings for storage. Each thread hashes into one memory
//! block it keeps: a fresh 19 MiB allocation per hash is memory glibc keeps once freed (373 MiB
//! resident after 41 hashes, `tests/hashing.rs`).

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::password_hash::{self, phc::PasswordHash as Phc};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use chat_domain::{HashError, Password, PasswordHash, PasswordHasher};

/// OWASP's argon2id recommendation: memory in KiB, passes, lanes.
pub const OWASP_MEMORY_KIB: u32 = 19 * 1024;
pub const OWASP_PASSES: u32 = 2;
pub const OWASP_LANES: u32 = 1;

/// The bytes of a hash argon2 outputs (its default).
const OUTPUT_BYTES: usize = 32;

thread_local! {
    /// This thread's argon2 memory, grown to the largest cost it has met and reused after.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Hashes with argon2id. Verification reads the parameters from the stored hash, so hashes made
/// with other parameters (older ones, or cheaper test ones) still verify.
pub struct Argon2Hasher {
    params: Params,
}

impl Argon2Hasher {
    /// The production hasher: OWASP's parameters, about 70 ms a hash in a release build.
    pub fn owasp() -> Self {
        Self::with_cost(OWASP_MEMORY_KIB, OWASP_PASSES, OWASP_LANES)
            .unwrap_or_else(|_| unreachable!("OWASP's parameters are valid"))
    }

    /// A hasher with other costs, for tests where the cost itself is not what is tested.
    pub fn with_cost(memory_kib: u32, passes: u32, lanes: u32) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, passes, lanes, Some(OUTPUT_BYTES)).map_err(failed)?;
        Ok(Argon2Hasher { params })
    }

    /// The PHC string of argon2id at this hasher's cost with `salt` and output `out`.
    fn phc(&self, salt: &[u8], out: &[u8]) -> Result<PasswordHash, HashError> {
        let phc = Phc {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(failed)?,
            salt: Some(Salt::new(salt).map_err(failed)?),
            hash: Some(Output::new(out).map_err(failed)?),
        };
        Ok(PasswordHash::new(phc.to_string()))
    }

    /// A hash of this hasher's cost that no password matches (its output is random, not
    /// computed): checking a log-in of an unknown name against it costs what a real check
    /// costs. Made without hashing, so it takes no time and no argon2 memory at start.
    pub fn unmatchable_hash(&self) -> Result<PasswordHash, HashError> {
        let salt = password_hash::try_generate_salt().map_err(failed)?;
        let mut out = [0u8; OUTPUT_BYTES];
        for chunk in out.chunks_mut(salt.len()) {
            let random = password_hash::try_generate_salt().map_err(failed)?;
            chunk.copy_from_slice(&random[..chunk.len()]);
        }
        self.phc(&salt, &out)
    }
}

fn failed(e: impl std::fmt::Display) -> HashError {
    HashError(e.to_string())
}

/// argon2 of `password` and `salt` into `out`, in this thread's kept memory.
fn hash_into(
    argon2: &Argon2<'_>,
    blocks_needed: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), HashError> {
    BLOCKS.with_borrow_mut(|blocks| {
        if blocks.len() < blocks_needed {
            blocks.resize(blocks_needed, Block::default());
        }
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..blocks_needed])
            .map_err(failed)
    })
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let salt = password_hash::try_generate_salt().map_err(failed)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let mut out = [0u8; OUTPUT_BYTES];
        hash_into(
            &argon2,
            self.params.block_count(),
            password.as_bytes(),
            &salt,
            &mut out,
        )?;
        self.phc(&salt, &out)
    }

    fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        let phc = Phc::new(hash.as_str()).map_err(failed)?;
        let algorithm = Algorithm::try_from(phc.algorithm.as_str()).map_err(failed)?;
        let version = match phc.version {
            Some(version) => Version::try_from(version).map_err(failed)?,
            None => Version::default(),
        };
        let params = Params::try_from(&phc).map_err(failed)?;
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return Err(HashError("the stored hash has no salt or no output".into()));
        };
        let mut out = vec![0u8; expected.len()];
        let blocks_needed = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        hash_into(
            &argon2,
            blocks_needed,
            password.as_bytes(),
            salt.as_ref(),
            &mut out,
        )?;
        // Output compares in constant time.
        Ok(Output::new(&out).map_err(failed)? == *expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::new(raw.to_string()).unwrap()
    }

    #[test]
    fn the_owasp_hasher_makes_argon2id_hashes_with_owasp_parameters() {
        let hash = Argon2Hasher::owasp()
            .hash(&password("correct horse"))
            .unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
    }

    #[test]
    fn the_unmatchable_hash_has_the_hashers_cost_and_matches_nothing() {
        let hasher = Argon2Hasher::owasp();
        let unmatchable = hasher.unmatchable_hash().unwrap();
        assert!(
            unmatchable
                .as_str()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            unmatchable.as_str()
        );
        for raw in [
            "correct horse",
            "no such user, no such password",
            "another one",
        ] {
            assert_eq!(hasher.verify(&password(raw), &unmatchable), Ok(false));
        }
        assert_ne!(hasher.unmatchable_hash().unwrap(), unmatchable);
    }

    #[test]
    fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let hasher = Argon2Hasher::owasp();
        let hash = hasher.hash(&password("correct horse")).unwrap();
        assert_eq!(hasher.verify(&password("correct horse"), &hash), Ok(true));
        assert_eq!(hasher.verify(&password("correct horsf"), &hash), Ok(false));
    }

    #[test]
    fn each_hash_has_its_own_salt() {
        let hasher = Argon2Hasher::with_cost(64, 1, 1).unwrap();
        let one = hasher.hash(&password("same password")).unwrap();
        let two = hasher.hash(&password("same password")).unwrap();
        assert_ne!(one, two);
        assert_eq!(hasher.verify(&password("same password"), &two), Ok(true));
    }

    #[test]
    fn hashes_made_with_other_costs_still_verify() {
        let cheap = Argon2Hasher::with_cost(64, 1, 1)
            .unwrap()
            .hash(&password("p4ssword"))
            .unwrap();
        assert_eq!(
            Argon2Hasher::owasp().verify(&password("p4ssword"), &cheap),
            Ok(true)
        );
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_phc_code_both_ways() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let crate_hasher = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        );
        let theirs = crate_hasher.hash_password(b"p4ssword").unwrap().to_string();
        let ours = Argon2Hasher::with_cost(64, 1, 1).unwrap();
        let stored = PasswordHash::new(theirs);
        assert_eq!(ours.verify(&password("p4ssword"), &stored), Ok(true));
        assert_eq!(ours.verify(&password("p4ssworD"), &stored), Ok(false));
        let made = ours.hash(&password("p4ssword")).unwrap();
        assert!(
            crate_hasher
                .verify_password(b"p4ssword", made.as_str())
                .is_ok()
        );
        assert!(
            crate_hasher
                .verify_password(b"p4ssworD", made.as_str())
                .is_err()
        );
    }

    #[test]
    fn a_malformed_stored_hash_is_an_error_not_a_panic() {
        let hasher = Argon2Hasher::owasp();
        for bad in [
            "",
            "plain text",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$md5$abc$def",
        ] {
            let result = hasher.verify(&password("whatever1"), &PasswordHash::new(bad.into()));
            assert!(result.is_err(), "{bad:?} gave {result:?}");
        }
    }

    #[test]
    fn invalid_costs_are_refused() {
        assert!(Argon2Hasher::with_cost(1, 1, 1).is_err());
        assert!(Argon2Hasher::with_cost(64, 1, 0).is_err());
    }
}
