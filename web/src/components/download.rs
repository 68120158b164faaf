//! Downloads made in the page: a Blob URL on a hidden link that is clicked. The link keeps its
//! URL (until the next download) so tests can fetch what was offered.

use wasm_bindgen::JsCast;

/// Offers `data` for download as `name` with MIME type `mime`.
pub fn download_text(name: &str, mime: &str, data: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(data));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob =
        web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(|_| "cannot make a Blob")?;
    download_blob(name, &blob)
}

/// Offers `blob` for download as `name`.
pub fn download_blob(name: &str, blob: &web_sys::Blob) -> Result<(), String> {
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(|_| "cannot make a Blob URL")?;
    let a = match doc.get_element_by_id("download-link") {
        Some(a) => a,
        None => {
            let a = doc.create_element("a").map_err(|_| "cannot make a link")?;
            a.set_id("download-link");
            let _ = a.set_attribute("hidden", "");
            doc.body().ok_or("no body")?.append_child(&a).map_err(|_| "cannot add the link")?;
            a
        }
    };
    let a: web_sys::HtmlAnchorElement = a.dyn_into().map_err(|_| "not a link")?;
    let old = a.href();
    if old.starts_with("blob:") {
        let _ = web_sys::Url::revoke_object_url(&old);
    }
    a.set_href(&url);
    a.set_download(name);
    let _ = a.set_attribute("data-name", name);
    a.click();
    Ok(())
}
