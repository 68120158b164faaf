//! The run parameters, edited as text and parsed on submit.

use super::Field;
use crate::transfer::Params;
use std::str::FromStr;
use yew::prelude::*;

/// Properties of [`ParamsForm`].
#[derive(Properties, PartialEq)]
pub struct ParamsFormProps {
    /// Called with valid parameters when the user asks for a run.
    pub on_run: Callback<Params>,
}

/// The form's fields as typed.
#[derive(Clone, PartialEq)]
struct Texts {
    file_size: String,
    mss: String,
    loss: String,
    receivers: String,
    seed: String,
}

impl From<Params> for Texts {
    fn from(p: Params) -> Self {
        Texts {
            file_size: p.file_size.to_string(),
            mss: p.mss.to_string(),
            loss: p.loss.to_string(),
            receivers: p.receivers.to_string(),
            seed: p.seed.to_string(),
        }
    }
}

fn parse<T: FromStr>(name: &str, text: &str) -> Result<T, String> {
    text.trim().parse().map_err(|_| format!("{name}: \"{}\" is not a valid number", text.trim()))
}

impl Texts {
    fn parse(&self) -> Result<Params, String> {
        Ok(Params {
            file_size: parse("file size", &self.file_size)?,
            mss: parse("MSS", &self.mss)?,
            loss: parse("loss p", &self.loss)?,
            receivers: parse("receivers", &self.receivers)?,
            seed: parse("seed", &self.seed)?,
        })
    }
}

/// File size, MSS, loss probability, receiver count and seed, with a Run button.
#[function_component(ParamsForm)]
pub fn params_form(props: &ParamsFormProps) -> Html {
    let texts = use_state(|| Texts::from(Params::default()));
    let error = use_state(|| None::<String>);

    let setter = |edit: fn(&mut Texts, String)| {
        let texts = texts.clone();
        Callback::from(move |value: String| {
            let mut next = (*texts).clone();
            edit(&mut next, value);
            texts.set(next);
        })
    };
    let onsubmit = {
        let texts = texts.clone();
        let error = error.clone();
        let on_run = props.on_run.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match texts.parse() {
                Ok(params) => {
                    error.set(None);
                    on_run.emit(params);
                }
                Err(msg) => error.set(Some(msg)),
            }
        })
    };

    html! {
        <form {onsubmit}>
            <Field id="file-size" label="File size (bytes)" value={texts.file_size.clone()}
                on_change={setter(|t, v| t.file_size = v)} />
            <Field id="mss" label="MSS (bytes)" value={texts.mss.clone()}
                on_change={setter(|t, v| t.mss = v)} />
            <Field id="loss" label="Loss probability p" value={texts.loss.clone()}
                on_change={setter(|t, v| t.loss = v)} />
            <Field id="receivers" label="Receivers" value={texts.receivers.clone()}
                on_change={setter(|t, v| t.receivers = v)} />
            <Field id="seed" label="Seed" value={texts.seed.clone()}
                on_change={setter(|t, v| t.seed = v)} />
            <button id="run" type="submit">{ "Run transfer" }</button>
            if let Some(msg) = &*error {
                <p class="error" role="alert">{ msg.clone() }</p>
            }
        </form>
    }
}
