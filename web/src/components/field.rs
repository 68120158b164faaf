//! A labelled numeric text input.

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Properties of [`Field`].
#[derive(Properties, PartialEq)]
pub struct FieldProps {
    /// Element id, also used by the label.
    pub id: AttrValue,
    /// Label text.
    pub label: AttrValue,
    /// Current text.
    pub value: AttrValue,
    /// Called with the new text on every edit.
    pub on_change: Callback<String>,
}

/// One form row: label and input.
#[function_component(Field)]
pub fn field(props: &FieldProps) -> Html {
    let oninput = {
        let on_change = props.on_change.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            on_change.emit(input.value());
        })
    };
    html! {
        <div class="field">
            <label for={props.id.clone()}>{ props.label.clone() }</label>
            <input id={props.id.clone()} inputmode="decimal" value={props.value.clone()} {oninput} />
        </div>
    }
}
