// flowd's account page: who is signed in, the MFA setup flow, sign-out.
"use strict";

(function () {
  const { t, el, show, announce, page, json } = window.flowd;

  function row(label, value) {
    return value ? [el("dt", { text: label }), el("dd", { text: value })] : [];
  }

  async function load() {
    let response;
    try {
      response = await fetch(page.me, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (_) {
      announce(t("network_error"));
      return;
    }
    if (response.status === 403 || response.status === 401) {
      // The session names a user who is gone: end it, or / would send us straight back here.
      const form = el("form", { method: "post", action: page.sign_out });
      document.body.append(form);
      form.submit();
      return;
    }
    const body = await json(response);
    if (!response.ok || !body || !body.user) {
      announce((body && body.detail) || t("network_error"));
      return;
    }
    const user = body.user;
    const details = el("dl", { class: "details" }, [
      ...row(t("account_name"), user.name),
      ...row(t("account_username"), user.username),
      ...row(t("account_email"), user.email),
    ]);
    const actions = el("div", { class: "actions" }, [
      page.mfa_url ? el("p", {}, [el("a", { href: page.mfa_url, id: "mfa-setup", text: t("account_mfa") })]) : null,
      el("form", { method: "post", action: page.sign_out }, [
        el("button", { type: "submit", class: "secondary", id: "sign-out", text: t("sign_out") }),
      ]),
    ]);
    show([el("p", { id: "signed-in-as" }, [t("signed_in_as") + " ", el("strong", { text: user.username })]), details, actions]);
  }

  load();
})();
