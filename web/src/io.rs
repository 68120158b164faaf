//! The browser's I/O for the sources: the hub's WebSocket, fetching a trace by URL, reading a
//! dropped or chosen file, and asking the hub for another transfer. Only on wasm32.

use crate::player::Connection;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CloseEvent, MessageEvent, RequestInit, Response, WebSocket};
use yew::Callback;

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "unknown error".into())
}

/// An open subscription to a hub; closing (or dropping) it detaches its handlers first, so no
/// message of an old connection reaches a newer source.
pub struct LiveConnection {
    ws: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_open: Closure<dyn FnMut()>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl LiveConnection {
    /// Connects to `url`; text frames go to `on_text`, state changes to `on_state`.
    pub fn open(
        url: &str,
        on_text: Callback<String>,
        on_state: Callback<Connection>,
    ) -> Result<Self, String> {
        let ws = WebSocket::new(url).map_err(js_err)?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                on_text.emit(text);
            }
        });
        let opened = on_state.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || opened.emit(Connection::Open));
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            let why = if e.reason().is_empty() {
                format!("closed (code {})", e.code())
            } else {
                format!("closed: {} (code {})", e.reason(), e.code())
            };
            on_state.emit(Connection::Closed(why));
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(LiveConnection { ws, _on_message: on_message, _on_open: on_open, _on_close: on_close })
    }
}

impl Drop for LiveConnection {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onopen(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// The hub's viewer endpoint on the page's own origin: `ws(s)://HOST/ws/view`.
pub fn default_live_url() -> String {
    let loc = web_sys::window().map(|w| w.location());
    let host = loc.as_ref().and_then(|l| l.host().ok()).filter(|h| !h.is_empty());
    let secure = loc.as_ref().and_then(|l| l.protocol().ok()).is_some_and(|p| p == "https:");
    let host = host.unwrap_or_else(|| "127.0.0.1:8080".into());
    format!("{}://{host}/ws/view", if secure { "wss" } else { "ws" })
}

/// A query parameter of the page's URL.
pub fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()?.get(name)
}

/// Every value of a query parameter given several times (`?trace=a&trace=b`), in order.
pub fn query_params(name: &str) -> Vec<String> {
    let Some(params) = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
    else {
        return Vec::new();
    };
    params.get_all(name).iter().filter_map(|v| v.as_string()).collect()
}

async fn response(url: &str, method: &str) -> Result<Response, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = RequestInit::new();
    init.set_method(method);
    let resp = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(js_err)?;
    let resp: Response = resp.dyn_into().map_err(js_err)?;
    if !resp.ok() {
        return Err(format!("{method} {url}: HTTP {} {}", resp.status(), resp.status_text()));
    }
    Ok(resp)
}

/// GETs `url` as text.
pub async fn fetch_text(url: &str) -> Result<String, String> {
    let resp = response(url, "GET").await?;
    let text = JsFuture::from(resp.text().map_err(js_err)?).await.map_err(js_err)?;
    text.as_string().ok_or_else(|| "the response is not text".into())
}

/// POSTs to `url` with an empty body and returns the response text.
pub async fn post(url: &str) -> Result<String, String> {
    let resp = response(url, "POST").await?;
    let text = JsFuture::from(resp.text().map_err(js_err)?).await.map_err(js_err)?;
    Ok(text.as_string().unwrap_or_default())
}

/// Reads a chosen or dropped file as text.
pub async fn read_file(file: web_sys::File) -> Result<String, String> {
    let text = JsFuture::from(file.text()).await.map_err(js_err)?;
    text.as_string().ok_or_else(|| "the file is not text".into())
}

/// Reads chosen or dropped files as (name, text), in order; the error names the file.
pub async fn read_files(files: Vec<web_sys::File>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let name = f.name();
        match read_file(f).await {
            Ok(text) => out.push((name, text)),
            Err(e) => return Err(format!("Cannot read {name}: {e}")),
        }
    }
    Ok(out)
}

/// GETs every URL as (url, text), in order; the error names the URL.
pub async fn fetch_texts(urls: Vec<String>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(urls.len());
    for url in urls {
        match fetch_text(&url).await {
            Ok(text) => out.push((url, text)),
            Err(e) => return Err(format!("Cannot load {url}: {e}")),
        }
    }
    Ok(out)
}

/// The page URL's query string (with its `?`, or empty).
pub fn query_string() -> String {
    web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default()
}

/// Replaces the page URL's query string (`a=1&b=2`, no `?`) without reloading or adding a
/// history entry, so the address bar always holds the scenario shown.
pub fn set_query(query: &str) {
    let Some(w) = web_sys::window() else { return };
    let path = w.location().pathname().unwrap_or_else(|_| "/".into());
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&format!("{path}?{query}")));
    }
}
