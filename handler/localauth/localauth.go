// Package localauth signs a developer in to Microsoft Entra on their own machine, with MSAL
// Go's public client, and hands out Microsoft Graph tokens: the token source of local (stdio)
// mode, where there is no gateway token to exchange on behalf of the user.
//
// [Client.Token] (a graphtools.TokenSource) tries, in order:
//  1. silent: the account from the persistent cache (package tokencache) — a cached access
//     token, else MSAL redeems the cached refresh token; no prompt, no browser;
//  2. interactive in the system browser: authorization code with PKCE, redirect to
//     http://localhost on a free port (MSAL runs the loopback listener);
//  3. device code, when asked for (Options.DeviceCode) or when no browser can be opened: the
//     user opens a URL on any device and types a code.
//
// Each step asks for the delegated Graph scopes of the tool being called, so consent is
// incremental: a tool that needs a permission the cached token lacks gets a sign-in that asks
// for it, once. Prompts (URL, device code) go to Options.Prompt — standard error in stdio
// mode, because standard output carries MCP. Failures are [*Error] values whose text says
// what to do: the authority that could not be reached, or the permission that was declined
// and how to grant it.
//
//	lc, err := localauth.New(&localauth.Options{Authority: "https://login.microsoftonline.com/" + tid,
//		ClientID: localAppID, Cache: file, Prompt: os.Stderr})
//	tok, err := lc.Token(ctx, "", []string{"https://graph.microsoft.com/User.Read"})
package localauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/pkg/browser"
)

// Options configures a [Client].
type Options struct {
	// Authority is the tenant's authority URL, e.g. https://login.microsoftonline.com/<tenant id>.
	Authority string
	// ClientID is the public-client app registration of local mode.
	ClientID string
	// Cache persists MSAL's cache (a *tokencache.File); nil keeps it in memory only.
	Cache cache.ExportReplace
	// HTTPClient talks to Entra. Default http.DefaultClient.
	HTTPClient *http.Client
	// Account picks the cached account by user name (UPN) when the cache holds several.
	Account string
	// DeviceCode uses the device-code flow instead of the browser.
	DeviceCode bool
	// OpenBrowser shows the sign-in URL to the user. Default: the system browser, or an error
	// (and so the device-code flow) when there is no display.
	OpenBrowser func(url string) error
	// Prompt receives what the user must read. Default os.Stderr; never standard output.
	Prompt io.Writer
	// GrantHint tells a user how to grant a declined permission; %s is the permission list.
	// Default: "call the tool again and accept the permission on the sign-in page".
	GrantHint string
	Logger    *slog.Logger // default slog.Default()
}

// Client acquires Graph tokens for the signed-in developer. Safe for concurrent use.
type Client struct {
	pc        public.Client
	o         Options
	signIn    sync.Mutex // one interactive sign-in at a time
	prompts   atomic.Int64
	completed atomic.Int64 // interactive sign-ins that succeeded
}

// New creates the client. It makes no network call.
func New(opts *Options) (*Client, error) {
	if opts == nil || opts.Authority == "" || opts.ClientID == "" {
		return nil, errors.New("localauth: Authority and ClientID are required")
	}
	o := *opts
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Prompt == nil {
		o.Prompt = os.Stderr
	}
	if o.OpenBrowser == nil {
		o.OpenBrowser = systemBrowser(o.Prompt)
	}
	if o.GrantHint == "" {
		o.GrantHint = "call the tool again and accept the permission on the sign-in page"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	popts := []public.Option{public.WithAuthority(o.Authority), public.WithHTTPClient(o.HTTPClient),
		// As in package obo: the authority is configured explicitly, nothing to discover.
		public.WithInstanceDiscovery(false)}
	if o.Cache != nil {
		popts = append(popts, public.WithCache(o.Cache))
	}
	pc, err := public.New(o.ClientID, popts...)
	if err != nil {
		return nil, fmt.Errorf("localauth: creating the MSAL public client for %s: %w", o.Authority, err)
	}
	return &Client{pc: pc, o: o}, nil
}

// Prompts reports how many interactive sign-ins (browser or device code) were started.
func (c *Client) Prompts() int64 { return c.prompts.Load() }

// Token returns a Graph access token for scopes (full scope URIs). The user token argument of
// graphtools.TokenSource has no meaning here and is ignored.
func (c *Client) Token(ctx context.Context, _ string, scopes []string) (string, error) {
	res, err := c.SignIn(ctx, scopes)
	if err != nil {
		return "", err
	}
	return res.AccessToken, nil
}

// SignIn returns a token for scopes: silently when the cache allows, else interactively.
func (c *Client) SignIn(ctx context.Context, scopes []string) (public.AuthResult, error) {
	seen := c.completed.Load()
	res, err := c.silent(ctx, scopes)
	if err == nil {
		return res, nil
	}
	if e := c.unreachable(err); e != nil {
		return public.AuthResult{}, e
	}
	if isUserError(err) { // e.g. several accounts, or a refused cache file: no sign-in helps
		return public.AuthResult{}, err
	}
	c.signIn.Lock()
	defer c.signIn.Unlock()
	// Another call may have signed in while this one waited for the lock.
	if c.completed.Load() != seen {
		if res, err := c.silent(ctx, scopes); err == nil {
			return res, nil
		}
	}
	res, err = c.interactive(ctx, scopes)
	if err == nil {
		c.completed.Add(1)
	}
	return res, err
}

// Accounts lists the user names of the cached accounts.
func (c *Client) Accounts(ctx context.Context) ([]string, error) {
	accts, err := c.pc.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = a.PreferredUsername
	}
	return names, nil
}

// SignOut removes the cached account (Options.Account, or the only one; all of them when
// all is set) and returns the user names removed.
func (c *Client) SignOut(ctx context.Context, all bool) ([]string, error) {
	accts, err := c.pc.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	if !all {
		a, err := c.pick(accts)
		if err != nil {
			return nil, err
		}
		if a == nil {
			return nil, nil
		}
		accts = []public.Account{*a}
	}
	var removed []string
	for _, a := range accts {
		if err := c.pc.RemoveAccount(ctx, a); err != nil {
			return removed, fmt.Errorf("removing %s from the token cache: %w", a.PreferredUsername, err)
		}
		removed = append(removed, a.PreferredUsername)
	}
	return removed, nil
}

// errNoAccount: nothing cached yet, an interactive sign-in is needed.
var errNoAccount = errors.New("no account in the token cache")

func (c *Client) silent(ctx context.Context, scopes []string) (public.AuthResult, error) {
	accts, err := c.pc.Accounts(ctx)
	if err != nil {
		return public.AuthResult{}, err
	}
	a, err := c.pick(accts)
	if err != nil {
		return public.AuthResult{}, err
	}
	if a == nil {
		return public.AuthResult{}, errNoAccount
	}
	return c.pc.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(*a))
}

// pick chooses the account to use: Options.Account, or the only one; nil when none.
func (c *Client) pick(accts []public.Account) (*public.Account, error) {
	if c.o.Account != "" {
		for i := range accts {
			if strings.EqualFold(accts[i].PreferredUsername, c.o.Account) {
				return &accts[i], nil
			}
		}
		return nil, nil // signing in interactively adds it (login hint)
	}
	switch len(accts) {
	case 0:
		return nil, nil
	case 1:
		return &accts[0], nil
	}
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = a.PreferredUsername
	}
	slices.Sort(names)
	return nil, &Error{msg: fmt.Sprintf("the token cache holds several accounts (%s); choose one with --account <user name>", strings.Join(names, ", "))}
}

// interactive signs the user in through the browser, or with a device code.
func (c *Client) interactive(ctx context.Context, scopes []string) (public.AuthResult, error) {
	c.prompts.Add(1)
	if !c.o.DeviceCode {
		var openErr error
		open := func(u string) error {
			// The URL is printed only when a browser may have opened: once opening fails,
			// MSAL stops its loopback listener, and the URL would lead nowhere.
			if openErr = c.o.OpenBrowser(u); openErr == nil {
				fmt.Fprintf(c.o.Prompt, "graphmcp: sign in to Microsoft Entra for %s in your browser. If no browser opened, open this URL:\n%s\n", strings.Join(shortNames(scopes), ", "), u)
			}
			return openErr
		}
		opts := []public.AcquireInteractiveOption{public.WithOpenURL(open)}
		if c.o.Account != "" {
			opts = append(opts, public.WithLoginHint(c.o.Account))
		}
		res, err := c.pc.AcquireTokenInteractive(ctx, scopes, opts...)
		if openErr == nil {
			return res, c.explain(err, scopes)
		}
		fmt.Fprintf(c.o.Prompt, "graphmcp: could not open a browser (%v); using the device code flow instead.\n", openErr)
	}
	dc, err := c.pc.AcquireTokenByDeviceCode(ctx, scopes)
	if err != nil {
		return public.AuthResult{}, c.explain(err, scopes)
	}
	fmt.Fprintf(c.o.Prompt, "graphmcp: %s\n", dc.Result.Message)
	res, err := dc.AuthenticationResult(ctx)
	return res, c.explain(err, scopes)
}

// Error is a sign-in failure; its text is meant for the user (graphtools shows it as is).
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }

// UserMessage is the text a tool error shows.
func (e *Error) UserMessage() string { return e.msg }

func (e *Error) Unwrap() error { return e.err }

// ConsentError is a permission the user declined or has not granted.
type ConsentError struct {
	Scopes []string // short names, e.g. Calendars.Read
	Code   string   // e.g. AADSTS65004
	msg    string
	err    error
}

func (e *ConsentError) Error() string { return e.msg }

// UserMessage names the permission and how to grant it.
func (e *ConsentError) UserMessage() string { return e.msg }

func (e *ConsentError) Unwrap() error { return e.err }

// explainREs are explain's patterns, compiled at first use: the handler binary links this
// package for local mode, and every start of the Functions handler would otherwise compile them.
var explainREs = sync.OnceValues(func() (aadsts, declined *regexp.Regexp) {
	return regexp.MustCompile(`AADSTS\d+`),
		regexp.MustCompile(`access_denied|authorization_declined|consent_required|AADSTS65001|AADSTS65004|AADSTS70000: The end user denied`)
})

// explain turns an MSAL error of an interactive sign-in into an *Error.
func (c *Client) explain(err error, scopes []string) error {
	if err == nil {
		return nil
	}
	if e := c.unreachable(err); e != nil {
		return e
	}
	if isUserError(err) {
		return err
	}
	msg := err.Error()
	aadstsRE, declinedRE := explainREs()
	code := aadstsRE.FindString(msg)
	if declinedRE.MatchString(msg) {
		names := shortNames(scopes)
		ce := &ConsentError{err: err, Scopes: names, Code: firstNonEmpty(code, "access_denied")}
		ce.msg = fmt.Sprintf("Consent required: the Microsoft Graph permission %s was not granted (%s). To grant it, %s. If your organization does not let users consent, ask an administrator to grant admin consent for the application %s",
			strings.Join(names, ", "), ce.Code, strings.ReplaceAll(c.o.GrantHint, "%s", strings.Join(names, " ")), c.o.ClientID)
		return ce
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{err: err, msg: "the sign-in to Microsoft Entra was not completed in time; call the tool again and finish signing in in the browser (or with the device code)"}
	}
	c.o.Logger.Warn("sign-in failed", slog.String("authority", c.o.Authority), slog.String("aadsts", code))
	return &Error{err: err, msg: fmt.Sprintf("signing in to Microsoft Entra at %s failed (%s); check ENTRA_LOCAL_CLIENT_ID and AZURE_TENANT_ID, and that the app registration allows public-client sign-in", c.o.Authority, firstNonEmpty(code, oneLine(msg)))}
}

// isUserError reports whether err already carries a message for the user (this package's
// errors, a refused token cache).
func isUserError(err error) bool {
	var ue interface{ UserMessage() string }
	return errors.As(err, &ue)
}

// unreachable returns the *Error for a network failure reaching Entra, or nil.
func (c *Client) unreachable(err error) error {
	var ne net.Error
	var ue *url.Error
	if !errors.As(err, &ne) && !errors.As(err, &ue) {
		return nil
	}
	cause := err
	if ue != nil {
		cause = ue.Err
	}
	return &Error{err: err, msg: fmt.Sprintf("cannot reach Microsoft Entra at %s (%v); check the network connection, proxy settings and ENTRA_AUTHORITY_HOST", c.o.Authority, cause)}
}

// systemBrowser opens the system browser, with its output on w (never standard output). With
// no display on Linux it fails at once, so that the device-code flow takes over.
func systemBrowser(w io.Writer) func(string) error {
	return func(u string) error {
		if runtime.GOOS == "linux" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no display (DISPLAY and WAYLAND_DISPLAY are unset)")
		}
		browser.Stdout, browser.Stderr = w, w
		return browser.OpenURL(u)
	}
}

// shortNames strips the resource from scope URIs: https://graph.microsoft.com/User.Read → User.Read.
func shortNames(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if i := strings.LastIndex(s, "/"); i >= 0 && strings.Contains(s, "://") {
			s = s[i+1:]
		}
		out = append(out, s)
	}
	return out
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// oneLine keeps the first line of an error, bounded, for a message.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
