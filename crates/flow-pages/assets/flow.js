// flowd's flow page: runs any flow through the authentik-style executor on this server.
// Each challenge `component` has one renderer in `renderers`; a new challenge type is one more
// entry there, not a new page.
"use strict";

(function () {
  const { t, el, announce, show, page, safeTarget, json } = window.flowd;

  // The executor URL; the page's own query (`?next=...`) travels as the executor's `query`.
  const search = window.location.search.replace(/^\?/, "");
  const executor = page.executor + "?query=" + encodeURIComponent(search);
  let busy = false;
  let idCounter = 0;

  function uid(prefix) {
    idCounter += 1;
    return prefix + "-" + idCounter;
  }

  // --- talking to the executor ---------------------------------------------------------

  async function call(method, body) {
    let response;
    try {
      response = await fetch(executor, {
        method,
        credentials: "same-origin",
        headers: body ? { "Content-Type": "application/json", Accept: "application/json" } : { Accept: "application/json" },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (_) {
      failed(method, t("network_error"));
      return;
    }
    const challenge = await json(response);
    if (!challenge || typeof challenge.component !== "string") {
      // Executor errors are `{detail, code}` (unknown flow, cross-site, rate limit...).
      failed(method, (challenge && challenge.detail) || t("network_error"));
      return;
    }
    render(challenge);
  }

  /** A request that brought no challenge: a failed submission keeps its form and says why;
   *  a failed load says why and offers to try again, instead of "loading" for ever. */
  function failed(method, message) {
    announce(message);
    if (method !== "GET") return;
    const retry = el("button", { type: "button", class: "secondary", id: "retry", text: t("try_again") });
    retry.addEventListener("click", () => call("GET"));
    show([el("p", { class: "alert", id: "load-error", text: message }), retry]);
  }

  async function submit(component, values, form) {
    if (busy) return;
    busy = true;
    const button = form && form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      await call("POST", Object.assign({ component }, values));
    } finally {
      busy = false;
      if (button && button.isConnected) button.disabled = false;
    }
  }

  // --- building blocks -------------------------------------------------------------------

  /** One labelled input; its errors (from `response_errors`) sit under it, tied by aria. */
  function field(spec, errors) {
    const id = uid("f");
    const errorId = id + "-error";
    const messages = (errors[spec.name] || []).map((error) => error.string).filter(Boolean);
    const attrs = {
      id,
      name: spec.name,
      type: spec.type || "text",
      autocomplete: spec.autocomplete || "off",
      inputmode: spec.inputmode,
      required: spec.required !== false,
      placeholder: spec.placeholder || null,
      "aria-invalid": messages.length ? "true" : null,
      "aria-describedby": [messages.length ? errorId : null, spec.help ? id + "-help" : null].filter(Boolean).join(" ") || null,
    };
    let input;
    if (spec.type === "select") {
      delete attrs.type;
      delete attrs.placeholder;
      input = el("select", attrs, [
        el("option", { value: "", text: t("choose") }),
        ...(spec.choices || []).map((choice) =>
          el("option", { value: choice.value, text: choice.label, selected: choice.value === spec.value }),
        ),
      ]);
    } else if (spec.type === "checkbox") {
      attrs.checked = spec.value === "true" || spec.value === true;
      input = el("input", attrs);
    } else {
      input = el("input", Object.assign(attrs, { value: spec.value || null }));
    }
    // Required fields of a prompt are marked (the `required` attribute tells assistive
    // technology; the star tells everyone else).
    const marker = spec.required === true ? el("span", { class: "required", "aria-hidden": "true", text: " *" }) : null;
    const label = el("label", { for: id }, [spec.label, marker]);
    const help = spec.help ? el("p", { id: id + "-help", class: "help", text: spec.help }) : null;
    const error = messages.length ? el("p", { id: errorId, class: "field-error", role: "alert", text: messages.join(" ") }) : null;
    const wrapper = spec.type === "checkbox"
      ? el("div", { class: "field checkbox" }, [input, label, help, error])
      : el("div", { class: "field" }, [label, input, help, error]);
    return { wrapper, input, name: spec.name, type: spec.type };
  }

  /** A form of `fields` that submits `component` with the fields' values (and `extra`). */
  function form(component, fields, errors, options) {
    const built = fields.map((spec) => field(spec, errors));
    const formNode = el("form", { novalidate: true }, [
      ...built.map((f) => f.wrapper),
      el("button", { type: "submit", text: (options && options.submit) || t("continue") }),
    ]);
    formNode.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = {};
      for (const f of built) {
        values[f.name] = f.type === "checkbox" ? f.input.checked : f.input.value;
      }
      submit(component, values, formNode);
    });
    return { node: formNode, fields: built };
  }

  function link(href, text, id) {
    return href && safeTarget(href) ? el("p", { class: "link" }, [el("a", { href, id, text })]) : null;
  }

  /** One link per identity provider (authentik's `sources`), each going to its login path. */
  function sourceButtons(sources) {
    const usable = (sources || []).filter((source) => source.challenge && safeTarget(source.challenge.to));
    if (!usable.length) return null;
    return el("div", { class: "sources" }, usable.map((source, index) => el("a", {
      class: "button source",
      id: "source-" + index,
      href: source.challenge.to,
    }, [
      source.icon_url && safeTarget(source.icon_url) ? el("img", { src: source.icon_url, alt: "", class: "source-icon" }) : null,
      t("continue_with").replace("{name}", source.name),
    ])));
  }

  function pendingUser(name) {
    return name ? el("p", { class: "pending-user" }, [t("pending_user") + " ", el("strong", { text: name })]) : null;
  }

  function startOver(challenge) {
    const button = el("button", { type: "button", class: "secondary", id: "start-over", text: t("try_again") });
    button.addEventListener("click", async () => {
      const cancel = (challenge.flow_info && challenge.flow_info.cancel_url) || null;
      if (cancel && safeTarget(cancel)) {
        try {
          await fetch(cancel, { credentials: "same-origin", redirect: "manual" });
        } catch (_) {
          // Reloading starts over all the same once the execution expires.
        }
      }
      window.location.reload();
    });
    return button;
  }

  // --- passkeys (WebAuthn) ----------------------------------------------------------------
  // The executor sends options with binary values in base64url; the browser wants buffers,
  // and answers with buffers that go back in base64url.

  function fromB64url(text) {
    const base64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }

  function toB64url(buffer) {
    if (!buffer) return null;
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map((entry) => Object.assign({}, entry, { id: fromB64url(entry.id) }));
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: fromB64url(json.challenge),
      user: Object.assign({}, json.user, { id: fromB64url(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: fromB64url(json.challenge),
      allowCredentials: withIds(json.allowCredentials),
    });
  }

  /** A credential as the executor reads it (WebAuthn's JSON encoding). */
  function credentialJSON(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      if (typeof r.getTransports === "function") response.transports = r.getTransports();
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      response.userHandle = toB64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    };
  }

  function passkeysSupported() {
    return typeof window.PublicKeyCredential === "function" && navigator.credentials;
  }

  /** A passkey step: a button that runs the ceremony and answers `key`, and always the other
   *  way in (the flow's fallback), also when the ceremony fails or is cancelled. */
  function passkeyStep(challenge, errors, spec) {
    const messages = (errors[spec.key] || []).map((error) => error.string).filter(Boolean);
    const problem = el("p", { class: "field-error", id: "passkey-error", role: "alert", text: messages.join(" "), hidden: !messages.length });
    const run = el("button", { type: "button", id: "passkey-run", text: spec.label });
    const other = spec.other ? el("button", { type: "button", class: "secondary", id: "passkey-fallback", text: spec.other }) : null;
    const say = (text) => {
      problem.textContent = text;
      problem.hidden = false;
    };
    if (!passkeysSupported()) {
      run.disabled = true;
      say(t("passkey_unsupported"));
    }
    run.addEventListener("click", async () => {
      if (busy) return;
      let credential;
      try {
        credential = await spec.ceremony();
      } catch (_) {
        say(t("passkey_cancelled"));
        if (other) other.focus();
        return;
      }
      if (!credential) {
        say(t("passkey_cancelled"));
        return;
      }
      submit(challenge.component, { [spec.key]: credentialJSON(credential) }, null);
    });
    if (other) other.addEventListener("click", () => submit(challenge.component, { fallback: true }, null));
    return [
      pendingUser(challenge.pending_user),
      el("p", { text: spec.intro, tabindex: "-1", "data-focus": true }),
      problem,
      run,
      other,
    ];
  }

  // A conditional (autofill) request still waiting when the page moves on is aborted.
  let autofill = null;

  /** Offers the site's passkeys in the identifier field's autofill; a chosen one signs in. */
  function offerAutofill(challenge, options) {
    if (!passkeysSupported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") return;
    PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
      if (!available) return;
      autofill = new AbortController();
      return navigator.credentials.get({ mediation: "conditional", publicKey: requestOptions(options), signal: autofill.signal })
        .then((credential) => {
          if (credential) submit(challenge.component, { passkey: credentialJSON(credential) }, null);
        });
    }).catch(() => {
      // Cancelled, aborted or refused: the identifier and password still work.
    });
  }

  // --- one renderer per challenge component ---------------------------------------------

  const promptTypes = {
    text: { type: "text", autocomplete: "off" },
    text_area: { type: "text", autocomplete: "off" },
    username: { type: "text", autocomplete: "username" },
    email: { type: "email", autocomplete: "email" },
    password: { type: "password", autocomplete: "new-password" },
    number: { type: "number", autocomplete: "off", inputmode: "numeric" },
    checkbox: { type: "checkbox" },
    dropdown: { type: "select" },
    date: { type: "date", autocomplete: "off" },
  };

  const renderers = {
    "ak-stage-identification"(challenge, errors) {
      if (challenge.passkey_challenge && !(challenge.user_fields || []).length) {
        // A sign-in with nothing but a passkey of this site.
        return passkeyStep(challenge, errors, {
          key: "passkey",
          intro: t("passkey_sign_in_intro"),
          label: t("passkey_sign_in"),
          other: t("passkey_other_way"),
          ceremony: () => navigator.credentials.get({ publicKey: requestOptions(challenge.passkey_challenge) }),
        });
      }
      const sources = sourceButtons(challenge.sources);
      if (!(challenge.user_fields || []).length) {
        // Nothing to type: sign in with one of the identity providers.
        return [el("p", { text: t("sources_intro"), tabindex: "-1", "data-focus": true }), sources];
      }
      if (challenge.passkey_challenge) offerAutofill(challenge, challenge.passkey_challenge);
      const emailOnly = Array.isArray(challenge.user_fields) && challenge.user_fields.length === 1 && challenge.user_fields[0] === "email";
      const fields = [{
        name: "uid_field",
        label: emailOnly ? t("email_label") : t("identifier_label"),
        type: emailOnly ? "email" : "text",
        autocomplete: challenge.passkey_challenge ? "username webauthn" : "username",
      }];
      if (challenge.password_fields) {
        fields.push({ name: "password", label: t("password_label"), type: "password", autocomplete: "current-password" });
      }
      const built = form(challenge.component, fields, errors, { submit: t("sign_in") });
      return [built.node, sources, link(challenge.recovery_url, t("forgot_password"), "recovery-link"), link(challenge.enroll_url, t("enroll"), "enroll-link")];
    },

    "ak-stage-password"(challenge, errors) {
      const built = form(challenge.component, [
        { name: "password", label: t("password_label"), type: "password", autocomplete: "current-password" },
      ], errors, { submit: t("sign_in") });
      // Password managers pair the password with the username: give them one, hidden.
      built.node.prepend(el("input", { type: "text", name: "username", autocomplete: "username", value: challenge.pending_user || "", hidden: true, "aria-hidden": "true", tabindex: "-1" }));
      return [pendingUser(challenge.pending_user), built.node, link(challenge.recovery_url, t("forgot_password"), "recovery-link")];
    },

    "ak-stage-prompt"(challenge, errors) {
      const fields = (challenge.fields || []).slice().sort((a, b) => (a.order || 0) - (b.order || 0)).map((prompt) => {
        const kind = promptTypes[prompt.type] || promptTypes.text;
        return Object.assign({}, kind, {
          name: prompt.field_key,
          label: prompt.label || prompt.field_key,
          required: prompt.required,
          placeholder: prompt.placeholder,
          value: prompt.initial_value,
          choices: prompt.choices,
          help: prompt.sub_text,
        });
      });
      return [form(challenge.component, fields, errors).node];
    },

    "ak-stage-authenticator-validate"(challenge, errors) {
      const devices = challenge.device_challenges || [];
      const passkey = devices.find((d) => d.device_class === "webauthn");
      const device = devices.find((d) => d.device_class !== "webauthn");
      const spec = {
        key: "webauthn",
        intro: t("passkey_sign_in_intro"),
        label: t("passkey_sign_in"),
        other: t("passkey_other_way"),
        ceremony: () => navigator.credentials.get({ publicKey: requestOptions(passkey.challenge) }),
      };
      if (!device) return passkeyStep(challenge, errors, spec);
      const help = device.device_class === "email" ? t("code_email_help") : t("code_totp_help");
      const built = form(challenge.component, [
        { name: "code", label: t("code_label"), type: "text", autocomplete: "one-time-code", inputmode: "numeric", help },
      ], errors);
      const nodes = [pendingUser(challenge.pending_user), built.node];
      if (passkey) {
        // The user's passkeys work as well as the code: the button (and its errors) below it.
        const [, , problem, run] = passkeyStep(challenge, errors, Object.assign(spec, { other: null }));
        nodes.push(problem, run);
      }
      return nodes;
    },

    "ak-stage-authenticator-totp"(challenge, errors) {
      let secret = "";
      try {
        secret = new URL(challenge.config_url).searchParams.get("secret") || "";
      } catch (_) {
        secret = "";
      }
      const image = el("img", { class: "qr", alt: t("totp_qr_alt"), width: 200, height: 200, hidden: true });
      fetch("/if/qr", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ uri: challenge.config_url }),
      }).then(async (response) => {
        if (!response.ok) throw new Error(String(response.status));
        image.src = URL.createObjectURL(await response.blob());
        image.hidden = false;
      }).catch(() => {
        image.replaceWith(el("p", { class: "help", id: "qr-failed", text: t("qr_failed") }));
      });
      const built = form(challenge.component, [
        { name: "code", label: t("code_label"), type: "text", autocomplete: "one-time-code", inputmode: "numeric", help: t("totp_code_help") },
      ], errors);
      return [
        el("p", { text: t("totp_intro"), tabindex: "-1", "data-focus": true }),
        image,
        el("p", { class: "secret" }, [t("totp_secret_label") + ": ", el("code", { id: "totp-secret", text: secret })]),
        built.node,
      ];
    },

    "ak-stage-authenticator-webauthn"(challenge, errors) {
      return passkeyStep(challenge, errors, {
        key: "response",
        intro: t("passkey_create_intro"),
        label: t("passkey_create"),
        other: t("passkey_other_way"),
        ceremony: () => navigator.credentials.create({ publicKey: creationOptions(challenge.registration) }),
      });
    },

    "ak-stage-access-denied"(challenge) {
      return [
        el("h2", { text: t("access_denied"), tabindex: "-1", "data-focus": true }),
        el("p", { class: "alert", id: "denied-message", text: challenge.error_message || t("access_denied") }),
        startOver(challenge),
      ];
    },

    "ak-stage-flow-error"(challenge) {
      return [
        el("h2", { text: t("flow_error"), tabindex: "-1", "data-focus": true }),
        el("p", { class: "alert", id: "error-message", text: challenge.error || t("flow_error") }),
        challenge.request_id ? el("p", { class: "help" }, [t("request_id") + ": ", el("code", { id: "request-id", text: challenge.request_id })]) : null,
        startOver(challenge),
      ];
    },

    "xak-flow-redirect"(challenge) {
      if (!safeTarget(challenge.to)) {
        return [el("p", { class: "alert", text: t("unsafe_redirect") })];
      }
      window.location.assign(challenge.to);
      return [el("p", { text: t("redirecting") })];
    },
  };

  function render(challenge) {
    if (autofill) {
      autofill.abort();
      autofill = null;
    }
    const title = challenge.flow_info && challenge.flow_info.title;
    if (title) {
      document.title = title;
      document.getElementById("title").textContent = title;
    }
    const errors = challenge.response_errors || {};
    const general = (errors.non_field_errors || []).map((error) => error.string).filter(Boolean);
    const renderer = renderers[challenge.component];
    const nodes = renderer
      ? renderer(challenge, errors)
      : [el("p", { class: "alert", text: t("unsupported") + " (" + challenge.component + ")" })];
    show(nodes.filter(Boolean));
    // Errors of the whole form go to the alert region; a field's own errors sit beside it
    // (role=alert, so they are read out as well).
    announce(general.join(" "));
    // Focus: the first field to fix; else what the step says first when it is more than a
    // form (the TOTP instructions, a denial); else the first field.
    const focus = document.querySelector("#stage [aria-invalid=true]") ||
      document.querySelector("#stage [data-focus]") ||
      document.querySelector("#stage input:not([hidden]), #stage select, #stage button");
    if (focus) focus.focus();
  }

  call("GET");
})();
