//! `registry.h`, search part (iSulad's `ENABLE_IMAGE_SEARCH`): Docker's v1
//! search, with the result in libisula's `imagetool_search_result` layout.
//! The daemon, which links libisula, defines `ISULA_REGISTRY_USE_LIBISULA`
//! to take the struct from libisula's header; everyone else gets it here.

use std::ffi::{c_char, c_int, c_void};

use super::cstr::{free, opt_str, strdup};
use super::registry::registry_search_options;
use super::{guard, last_error};
use crate::api::{self, SearchImage, SearchResult};

/// One image found (libisula's layout).
#[cfg(all(feature = "image_search", not(isula_libisula)))]
#[repr(C)]
pub struct image_search_image {
    pub star_count: i64,
    pub is_official: bool,
    pub name: *mut c_char,
    pub is_automated: bool,
    pub description: *mut c_char,
    pub pull_count: i64,
    pub is_trusted: bool,
    pub _residual: *mut c_void,
}

/// A search result (libisula's layout); free it with
/// `free_imagetool_search_result`.
#[cfg(all(feature = "image_search", not(isula_libisula)))]
#[repr(C)]
pub struct imagetool_search_result {
    pub num_pages: i64,
    pub num_results: i64,
    pub page_size: i64,
    pub page: i64,
    pub query: *mut c_char,
    pub results: *mut *mut image_search_image,
    pub results_len: usize,
    pub _residual: *mut c_void,
}

#[cfg(feature = "image_search")]
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<image_search_image>() == 64);
    assert!(offset_of!(image_search_image, name) == 16);
    assert!(offset_of!(image_search_image, description) == 32);
    assert!(offset_of!(image_search_image, is_trusted) == 48);
    assert!(size_of::<imagetool_search_result>() == 64);
    assert!(offset_of!(imagetool_search_result, query) == 32);
    assert!(offset_of!(imagetool_search_result, results_len) == 48);
};

/// Searches `options->search_name` (`REGISTRY/TERM`; `docker.io` means
/// `index.docker.io`) for at most `options->limit` images. 0 with
/// `*result` set (free it with `free_imagetool_search_result`); -1 with the
/// message in `isula_registry_last_error()` and `*result` untouched.
///
/// # Safety
/// `options` is NULL or valid with a NULL or C-string `search_name`;
/// `result` is NULL or writable.
#[cfg(feature = "image_search")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn registry_search(
    options: *mut registry_search_options,
    result: *mut *mut imagetool_search_result,
) -> c_int {
    guard("registry_search", -1, || {
        last_error::clear();
        // SAFETY: `options` NULL or valid, `result` NULL or writable (# Safety).
        let (Some(o), Some(out)) = (unsafe { options.as_ref() }, unsafe { result.as_mut() }) else {
            last_error::set("search needs options and a result pointer");
            return -1;
        };
        // SAFETY: `search_name` of valid options is NULL or a C string.
        let name = unsafe { opt_str(o.search_name) }.unwrap_or_default();
        match api::search(name, o.limit, o.insecure_registry, o.skip_tls_verify) {
            Ok(r) => {
                let Some(c) = to_c(&r) else {
                    last_error::set("out of memory");
                    return -1;
                };
                *out = c;
                0
            }
            Err(e) => {
                super::registry::set_error("registry_search", &e.to_string());
                -1
            }
        }
    })
}

/// Allocates the C form of a result with libc (as libisula would).
#[cfg(feature = "image_search")]
fn to_c(r: &SearchResult) -> Option<*mut imagetool_search_result> {
    // SAFETY: calloc'd structs and arrays, filled below, NULL-checked.
    unsafe {
        let out = libc::calloc(1, std::mem::size_of::<imagetool_search_result>())
            as *mut imagetool_search_result;
        if out.is_null() {
            return None;
        }
        let o = &mut *out;
        o.num_pages = r.num_pages;
        o.num_results = r.num_results;
        o.page_size = r.page_size;
        o.page = r.page;
        o.query = strdup(&r.query);
        if !r.results.is_empty() {
            o.results = libc::calloc(
                r.results.len(),
                std::mem::size_of::<*mut image_search_image>(),
            ) as *mut *mut image_search_image;
            if o.results.is_null() {
                free_result(out);
                return None;
            }
            for (i, img) in r.results.iter().enumerate() {
                let item = image_to_c(img);
                if item.is_null() {
                    free_result(out);
                    return None;
                }
                *o.results.add(i) = item;
                o.results_len = i + 1;
            }
        }
        Some(out)
    }
}

#[cfg(feature = "image_search")]
fn image_to_c(img: &SearchImage) -> *mut image_search_image {
    // SAFETY: a calloc'd struct, NULL-checked, filled with owned strings.
    unsafe {
        let p =
            libc::calloc(1, std::mem::size_of::<image_search_image>()) as *mut image_search_image;
        if let Some(i) = p.as_mut() {
            i.star_count = img.star_count;
            i.is_official = img.is_official;
            i.name = strdup(&img.name);
            i.is_automated = img.is_automated;
            i.description = strdup(&img.description);
            i.pull_count = img.pull_count;
            i.is_trusted = img.is_trusted;
        }
        p
    }
}

/// # Safety
/// `r` is NULL or a result built by `to_c`.
#[cfg(feature = "image_search")]
unsafe fn free_result(r: *mut imagetool_search_result) {
    // SAFETY: `r` is NULL or a result from registry_search, not freed yet.
    let Some(o) = (unsafe { r.as_mut() }) else {
        return;
    };
    // SAFETY: every pointer was allocated with libc by to_c.
    unsafe {
        free(o.query);
        if !o.results.is_null() {
            for i in 0..o.results_len {
                let item = *o.results.add(i);
                if let Some(it) = item.as_mut() {
                    free(it.name);
                    free(it.description);
                }
                free(item);
            }
            free(o.results);
        }
        free(r);
    }
}

/// Frees a search result (NULL is fine). With the daemon, libisula's
/// function of the same name is used instead.
///
/// # Safety
/// `result` is NULL or from `registry_search`.
#[cfg(all(feature = "image_search", not(feature = "isulad")))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free_imagetool_search_result(result: *mut imagetool_search_result) {
    // SAFETY: `result` is NULL or a result from registry_search (# Safety).
    guard("free_imagetool_search_result", (), || unsafe {
        free_result(result)
    })
}
