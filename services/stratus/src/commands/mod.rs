//! One module per command family.

pub mod admin_api;
pub mod identity;
pub mod models;
pub mod openapi;
pub mod serve;

use stratus_models::store::ModelStore;

use crate::cli::HomeArgs;
use crate::error::CliError;

/// The model store of `home`, with the package cache it names.
pub fn open_store(home: &HomeArgs) -> Result<ModelStore, CliError> {
    std::fs::create_dir_all(&home.home).map_err(|source| CliError::CreateDir {
        path: home.home.clone(),
        source,
    })?;
    let mut store = ModelStore::open(&home.home)?;
    if let Some(cache) = &home.package_cache {
        store = store.with_package_cache(cache);
    }
    Ok(store)
}
