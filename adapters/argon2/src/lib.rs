//! The password-hashing adapter: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane),
//! a fresh random salt per hash, PHC strings for storage.

use argon2::password_hash::Error as HashFailure;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use chat_domain::{HashError, Password, PasswordHash, PasswordHasher};

/// OWASP's argon2id recommendation: memory in KiB, passes, lanes.
pub const OWASP_MEMORY_KIB: u32 = 19 * 1024;
pub const OWASP_PASSES: u32 = 2;
pub const OWASP_LANES: u32 = 1;

/// Hashes with argon2id. Verification reads the parameters from the stored hash, so hashes made
/// with other parameters (older ones, or cheaper test ones) still verify.
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
}

impl Argon2Hasher {
    /// The production hasher: OWASP's parameters, about 70 ms a hash in a release build.
    pub fn owasp() -> Self {
        Self::with_cost(OWASP_MEMORY_KIB, OWASP_PASSES, OWASP_LANES)
            .unwrap_or_else(|_| unreachable!("OWASP's parameters are valid"))
    }

    /// A hasher with other costs, for tests where the cost itself is not what is tested.
    pub fn with_cost(memory_kib: u32, passes: u32, lanes: u32) -> Result<Self, HashError> {
        let params =
            Params::new(memory_kib, passes, lanes, None).map_err(|e| HashError(e.to_string()))?;
        Ok(Argon2Hasher {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        })
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let hash = self
            .argon2
            .hash_password(password.as_bytes())
            .map_err(|e| HashError(e.to_string()))?;
        Ok(PasswordHash::new(hash.to_string()))
    }

    fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        match self
            .argon2
            .verify_password(password.as_bytes(), hash.as_str())
        {
            Ok(()) => Ok(true),
            Err(HashFailure::PasswordInvalid) => Ok(false),
            Err(e) => Err(HashError(e.to_string())),
        }
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
