//! The client's original query string (authentik's `query` parameter) and the one place
//! that decides where a finished flow may send the user: a relative path on this server or
//! an origin the operator allowed. Never an open redirect.

use url::Url;

/// The longest `query` value read; anything longer is ignored as a whole.
pub const MAX_QUERY_LEN: usize = 4096;

/// The parts of the client's original query string flowd uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientQuery {
    /// `next`: where to go when the flow is done (not yet checked).
    pub next: Option<String>,
    /// `itoken`: an invitation's code, from authentik's invitation links.
    pub itoken: Option<String>,
}

impl ClientQuery {
    /// Reads the executor's own query string: its `query` parameter holds the client's
    /// original query string, URL-encoded once more.
    pub fn from_executor_query(executor_query: &str) -> Self {
        let Some(query) = url::form_urlencoded::parse(executor_query.as_bytes())
            .find(|(key, _)| key == "query")
            .map(|(_, value)| value.into_owned())
        else {
            return Self::default();
        };
        if query.len() > MAX_QUERY_LEN {
            return Self::default();
        }
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(key, value)| key == name && !value.is_empty())
                .map(|(_, value)| value.clone())
        };
        Self {
            next: get("next"),
            itoken: get("itoken"),
        }
    }
}

/// Origins (`scheme://host[:port]`) a finished flow may redirect to, besides relative paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectPolicy {
    allowed: Vec<url::Origin>,
}

impl RedirectPolicy {
    /// A policy allowing the origins of `urls` (unparseable entries are skipped).
    pub fn allowing<'a>(urls: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            allowed: urls
                .into_iter()
                .filter_map(|url| Url::parse(url).ok())
                .map(|url| url.origin())
                .filter(url::Origin::is_tuple)
                .collect(),
        }
    }

    /// `target` if it is safe to redirect to: a path starting with a single `/` (no scheme,
    /// no host, no backslash, no control character), or an `http(s)` URL of an allowed origin.
    pub fn check(&self, target: &str) -> Option<String> {
        if target.is_empty() || target.len() > MAX_QUERY_LEN {
            return None;
        }
        if target.chars().any(|c| c.is_control() || c == '\\') {
            return None;
        }
        if target.starts_with('/') {
            return (!target.starts_with("//")).then(|| target.to_owned());
        }
        let url = Url::parse(target).ok()?;
        let allowed = matches!(url.scheme(), "http" | "https")
            && url.username().is_empty()
            && url.password().is_none()
            && self.allowed.contains(&url.origin());
        allowed.then(|| url.to_string())
    }

    /// Where a finished flow goes: the flow's own completion URL when it has one (an
    /// operator's setting, trusted), else `next` when it is safe, else `/`.
    pub fn destination(&self, flow_redirect: Option<&str>, next: Option<&str>) -> String {
        if let Some(url) = flow_redirect.filter(|url| !url.is_empty()) {
            return url.to_owned();
        }
        match next {
            Some(next) => self.check(next).unwrap_or_else(|| {
                tracing::warn!("ignored an unsafe next URL");
                "/".to_owned()
            }),
            None => "/".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_read_from_the_nested_query() {
        let query = ClientQuery::from_executor_query("query=next%3D%252Fapp%252F%26foo%3D1");
        assert_eq!(query.next.as_deref(), Some("/app/"));
        let query = ClientQuery::from_executor_query("query=%3Fnext%3D%2Fx%26itoken%3Dabc");
        assert_eq!(query.next.as_deref(), Some("/x"));
        assert_eq!(query.itoken.as_deref(), Some("abc"));
        assert_eq!(ClientQuery::from_executor_query("other=1").next, None);
        assert_eq!(ClientQuery::from_executor_query("query=next%3D").next, None);
        let long = format!("query=next%3D%2F{}", "a".repeat(MAX_QUERY_LEN));
        assert_eq!(ClientQuery::from_executor_query(&long).next, None);
    }

    #[test]
    fn only_relative_paths_and_allowed_origins_pass() {
        let policy = RedirectPolicy::allowing(["https://app.example.com", "not a url"]);
        assert_eq!(policy.check("/home?x=1").as_deref(), Some("/home?x=1"));
        assert_eq!(
            policy.check("https://app.example.com/cb").as_deref(),
            Some("https://app.example.com/cb")
        );
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "https://app.example.com.evil.example/",
            "http://app.example.com/",
            "https://user@app.example.com/",
            "javascript:alert(1)",
            "data:text/html,x",
            "evil.example",
            "/line\nbreak",
            "",
        ] {
            assert_eq!(policy.check(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn the_flow_redirect_wins_and_unsafe_next_falls_back_to_root() {
        let policy = RedirectPolicy::allowing([]);
        assert_eq!(
            policy.destination(Some("https://x/"), Some("/n")),
            "https://x/"
        );
        assert_eq!(policy.destination(None, Some("/n")), "/n");
        assert_eq!(policy.destination(None, Some("https://evil/")), "/");
        assert_eq!(policy.destination(None, None), "/");
    }
}
