package entra

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The stand-in's pages: the sign-in page and the error page Entra shows when it cannot redirect
// (unknown application, unregistered redirect URI). One column, the system font stack, light and
// dark colours, readable from 360 px up; no script, no image, no other fetch. The stylesheet is
// one inline <style> that the CSP allows by its SHA-256 (pageStyleSrc), not by 'unsafe-inline'.

type pageData struct {
	Title, Error, Action, LoginHint, Tenant string
	Hidden                                  []kv
	Users                                   []User
	Code                                    int
	Scopes                                  []scopeWords
}

type kv struct{ Name, Value string }

// scopeWords is a requested scope in plain words, for the sign-in page; Name is the scope
// without its resource prefix.
type scopeWords struct{ Name, Title, Detail string }

// graphWords are the Microsoft Graph permissions the sample tools use (and a few neighbours), as
// Microsoft's consent screens put them.
var graphWords = map[string][2]string{
	"user.read":      {"Sign you in and read your profile", "Your name, email address and job title."},
	"mail.readbasic": {"See who wrote to you, and about what", "The sender, subject and date of your messages, not their text."},
	"mail.read":      {"Read your mail", "Your messages, with their text and attachments."},
	"calendars.read": {"Read your calendars", "Your events, with their times, places and attendees."},
	"files.read":     {"Read your files", "The files in your OneDrive."},
}

// describeScopes puts the scope parameter in plain words, one entry per scope.
func (s *Server) describeScopes(raw string) []scopeWords {
	var out []scopeWords
	api := []string{"api://" + s.opts.APIClientID + "/", s.opts.APIClientID + "/"}
	graph := []string{strings.TrimSuffix(s.opts.GraphResource, "/") + "/", GraphAppID + "/"}
	for _, sc := range strings.Fields(raw) {
		name := sc
		a, isAPI := cutAnyPrefix(sc, api)
		if isAPI {
			name = a
		} else if g, ok := cutAnyPrefix(sc, graph); ok {
			name = g
		}
		w := scopeWords{Name: name}
		switch lname := strings.ToLower(name); {
		case isAPI:
			w.Title, w.Detail = "Use the MCP gateway as you", "The gateway calls its tools with your identity."
		case lname == "openid":
			w.Title, w.Detail = "Sign you in", "Tell the application who you are."
		case lname == "profile":
			w.Title, w.Detail = "See your basic profile", "Your name and user name."
		case lname == "email":
			w.Title, w.Detail = "See your email address", ""
		case lname == "offline_access":
			w.Title, w.Detail = "Keep access you have given it", "Also when you are not using it, until you revoke it."
		case lname == ".default":
			w.Title, w.Detail = "Everything an administrator granted this application", ""
		default:
			if gw, ok := graphWords[lname]; ok {
				w.Title, w.Detail = gw[0], gw[1]
			} else {
				w.Title, w.Detail = "Use the Microsoft Graph permission "+name, ""
			}
		}
		out = append(out, w)
	}
	return out
}

func (s *Server) signInPage(w http.ResponseWriter, p url.Values, errMsg string) {
	d := pageData{Title: "Sign in", Error: errMsg, Action: s.AuthorizeURL(), LoginHint: p.Get("login_hint"),
		Tenant: s.opts.TenantID, Users: s.Users(), Scopes: s.describeScopes(p.Get("scope"))}
	for _, name := range oauthParams {
		if v := p.Get(name); v != "" {
			d.Hidden = append(d.Hidden, kv{name, v})
		}
	}
	s.renderPage(w, http.StatusOK, d)
}

func (s *Server) errorPage(w http.ResponseWriter, status, code int, msg string) {
	s.counts.addError("AADSTS" + strconv.Itoa(code))
	s.renderPage(w, status, pageData{Title: "Sorry, but we're having trouble signing you in.",
		Error: "AADSTS" + strconv.Itoa(code) + ": " + msg, Code: code, Tenant: s.opts.TenantID})
}

func (s *Server) renderPage(w http.ResponseWriter, status int, d pageData) {
	setPageHeaders(w, "")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

// setPageHeaders sets the headers of every HTML page; scriptSrc is the CSP source of the one
// inline script a page may have ("" = none).
func setPageHeaders(w http.ResponseWriter, scriptSrc string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// No form-action: browsers apply it to the redirect after the POST, which
	// goes to the client's origin. No scripts at all.
	csp := "default-src 'none'; style-src " + pageStyleSrc + "; frame-ancestors 'none'"
	if scriptSrc != "" {
		csp += "; script-src " + scriptSrc
	}
	h.Set("Content-Security-Policy", csp)
}

// pageStyle is the pages' stylesheet. Font names are unquoted (valid CSS for names made of words).
const pageStyle = `:root{color-scheme:light dark;--bg:#f2f2f2;--card:#fff;--text:#1b1b1b;--muted:#605e5c;--line:#c8c6c4;--accent:#0067b8;--accent-text:#fff;--accent-hover:#005da6;--err:#a4262c;--err-bg:#fde7e9;--code-bg:#f3f2f1}
@media (prefers-color-scheme:dark){:root{--bg:#1b1b1b;--card:#2b2b2b;--text:#fff;--muted:#c8c6c4;--line:#605e5c;--accent:#4aa3ff;--accent-text:#111;--accent-hover:#77b9ff;--err:#ff99a4;--err-bg:#3b2326;--code-bg:#3b3a39}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:1rem/1.5 system-ui,-apple-system,Segoe UI,Roboto,Helvetica Neue,Arial,Noto Sans,sans-serif}
main{max-width:28rem;margin:0 auto;padding:1.25rem .75rem 3rem}
.card{background:var(--card);border:1px solid var(--line);padding:1.5rem 1.25rem}
@media (min-width:40rem){main{padding-top:4rem}.card{padding:2.25rem 2.5rem;box-shadow:0 2px 6px rgba(0,0,0,.2)}}
.brand{margin:0 0 1rem;font-weight:600}
.brand span{color:var(--muted);font-weight:400}
h1{margin:0 0 .25rem;font-size:1.5rem;line-height:1.3}
h2{margin:1.5rem 0 .5rem;font-size:1rem}
p{margin:.5rem 0}
.lead,.muted{color:var(--muted)}
.err{margin:1rem 0;padding:.75rem 1rem;border-left:.25rem solid var(--err);background:var(--err-bg);color:var(--text);overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,Liberation Mono,monospace;font-size:.875em;background:var(--code-bg);padding:.1em .3em;overflow-wrap:anywhere}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input{display:block;width:100%;min-height:2.75rem;padding:.5rem .625rem;border:1px solid var(--muted);border-radius:0;background:var(--card);color:var(--text);font:inherit}
input:focus{outline:2px solid var(--accent);outline-offset:1px;border-color:var(--accent)}
.scopes{margin:.25rem 0 0;padding:0;list-style:none}
.scopes li{padding:.5rem 0;border-bottom:1px solid var(--line)}
.scopes strong{display:block;font-weight:600}
.scopes span,.scopes small{display:block;color:var(--muted);font-size:.875rem}
button{display:block;width:100%;min-height:2.75rem;margin-top:1.5rem;padding:.5rem 1rem;border:1px solid var(--accent);background:var(--accent);color:var(--accent-text);font:inherit;font-weight:600;cursor:pointer}
button:hover{background:var(--accent-hover)}
button:focus-visible{outline:3px solid var(--text);outline-offset:2px}
.users{margin-top:1.5rem;font-size:.875rem}
.fine{margin-top:1rem;color:var(--muted);font-size:.875rem}
.users ul{margin:.25rem 0;padding-left:1.25rem}
`

// pageStyleSrc is the CSP source that allows exactly pageStyle.
var pageStyleSrc = cspHash(pageStyle)

// cspHash is the CSP source ('sha256-…') that allows exactly the inline text s.
func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// pageLayout is the frame every page shares: head, stylesheet, brand, title and the tenant line;
// each page fills in its "body". html/template, so every value (UPNs, scopes, state, the error
// text that may echo request input) is escaped. The stylesheet is template text, copied as is.
var pageLayout = template.Must(template.New("layout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<title>{{.Title}} – devstack Entra</title>
<style>` + pageStyle + `</style></head>
<body><main><div class="card">
<p class="brand">Microsoft Entra ID <span>· local stand-in</span></p>
<h1 id="title">{{.Title}}</h1>
{{block "body" .}}{{end}}
<p class="fine">Tenant <code>{{.Tenant}}</code></p>
</div></main></body></html>
`))

// withBody is pageLayout with body as its "body" block.
func withBody(name, body string) *template.Template {
	return template.Must(template.Must(pageLayout.Clone()).New(name).Parse(`{{define "body"}}` + body + `{{end}}`)).Lookup("layout")
}

// pageTmpl is the sign-in page (Code == 0) and the error page (Code != 0).
var pageTmpl = withBody("page", `{{if .Error}}<p class="err" id="error" role="alert">{{.Error}}</p>{{end}}
{{if not .Code}}
<p class="lead">to continue to the MCP gateway</p>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label for="username">Email or username</label>
<input id="username" name="username" type="email" autocomplete="username" value="{{.LoginHint}}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<h2>Signing in also lets the gateway</h2>
<ul class="scopes" id="scopes">{{range .Scopes}}<li><strong>{{.Title}}</strong>{{if .Detail}}<span>{{.Detail}}</span>{{end}}<small><code>{{.Name}}</code></small></li>{{end}}</ul>
<button id="submit" type="submit">Sign in and accept</button>
</form>
<section class="users" aria-labelledby="users-title"><h2 id="users-title">Dev users</h2>
<ul>{{range .Users}}<li>{{.DisplayName}} <code>{{.UserPrincipalName}}</code></li>{{end}}</ul>
<p class="muted">Their passwords are in the banner of <code>make dev</code>.</p></section>
{{end}}`)
