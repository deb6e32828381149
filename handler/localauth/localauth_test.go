package localauth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/graphmcp/devstack/entra"
	"example.com/graphmcp/devstack/entra/scripteduser"
	"example.com/graphmcp/devstack/localca"
	"example.com/graphmcp/handler/localauth"
	"example.com/graphmcp/handler/tokencache"
	"example.com/graphmcp/internal/freeport"
	"example.com/graphmcp/internal/syncbuf"
)

const (
	adele    = "adele@contoso.test"
	adelePW  = "adele-dev-password"
	userRead = "https://graph.microsoft.com/User.Read"
	calRead  = "https://graph.microsoft.com/Calendars.Read"
)

type fixture struct {
	ca    *localca.CA
	idp   *entra.Server
	cache string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ca, err := localca.New()
	if err != nil {
		t.Fatal(err)
	}
	idp, err := entra.Start(entra.Options{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	return &fixture{ca: ca, idp: idp, cache: filepath.Join(t.TempDir(), tokencache.FileName)}
}

// client is a new "process": a fresh MSAL client over the same cache file. The browser is
// the scripted user, who accepts unless deny is set.
func (f *fixture) client(t *testing.T, deny bool, mod func(*localauth.Options)) (*localauth.Client, *syncbuf.Buffer) {
	t.Helper()
	return f.clientAs(t, adele, adelePW, deny, mod)
}

func (f *fixture) clientAs(t *testing.T, upn, password string, deny bool, mod func(*localauth.Options)) (*localauth.Client, *syncbuf.Buffer) {
	t.Helper()
	file, err := tokencache.Open(f.cache)
	if err != nil {
		t.Fatal(err)
	}
	prompt := &syncbuf.Buffer{}
	user := scripteduser.User{Client: f.ca.HTTPClient(), UPN: upn, Password: password, Deny: deny}
	o := &localauth.Options{
		Authority: f.idp.Authority(), ClientID: f.idp.PublicClientID(), Cache: file,
		HTTPClient: f.ca.HTTPClient(), Prompt: prompt,
		OpenBrowser: func(u string) error {
			go func() {
				if err := user.Authorize(context.Background(), u); err != nil {
					t.Errorf("browser: %v", err)
				}
			}()
			return nil
		},
	}
	if mod != nil {
		mod(o)
	}
	c, err := localauth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, prompt
}

func token(t *testing.T, c *localauth.Client, scopes ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tok, err := c.Token(ctx, "", scopes)
	if err != nil || tok == "" {
		t.Fatalf("Token(%v) = %q, %v", scopes, tok, err)
	}
}

// TestBrowserSignInSilentAndIncrementalConsent: MSAL's public client signs in through the
// stand-in (auth code + PKCE, loopback redirect on a random port, form_post), a new client
// over the same cache file is silent, and a tool needing one more permission gets one more
// sign-in that asks for it.
func TestBrowserSignInSilentAndIncrementalConsent(t *testing.T) {
	f := newFixture(t)
	c, prompt := f.client(t, false, nil)
	token(t, c, userRead)
	if c.Prompts() != 1 || !strings.Contains(prompt.String(), f.idp.AuthorizeURL()+"?") {
		t.Fatalf("first sign-in: %d prompts, prompt text %q; want 1 with the sign-in URL", c.Prompts(), prompt.String())
	}
	if got := f.idp.PublicConsent(adele); len(got) != 1 || got[0] != "User.Read" {
		t.Fatalf("consent after sign-in = %v, want [User.Read]", got)
	}

	f.idp.ResetCounts()
	c2, _ := f.client(t, false, nil)
	token(t, c2, userRead)
	if n := f.idp.Counts(); c2.Prompts() != 0 || n.TokenRequests != 0 || n.Authorize != 0 {
		t.Fatalf("second process: %d prompts, %d token requests, %d authorize; want all 0", c2.Prompts(), n.TokenRequests, n.Authorize)
	}

	// Incremental consent: the cached refresh token cannot get Calendars.Read (AADSTS65001),
	// so the user is asked once, for that permission.
	token(t, c2, calRead)
	n := f.idp.Counts()
	if c2.Prompts() != 1 || n.Errors["AADSTS65001"] != 1 || n.Refresh != 1 {
		t.Fatalf("incremental consent: %d prompts, counts %+v; want 1 prompt after one refresh refused with AADSTS65001", c2.Prompts(), n)
	}
	// Both permissions are now served from the cache.
	f.idp.ResetCounts()
	c3, _ := f.client(t, false, nil)
	token(t, c3, userRead)
	token(t, c3, calRead)
	if n := f.idp.Counts(); c3.Prompts() != 0 || n.TokenRequests != 0 {
		t.Fatalf("third process: %d prompts, %d token requests; want 0", c3.Prompts(), n.TokenRequests)
	}

	// Sign-out removes the account: the next call prompts again.
	removed, err := c3.SignOut(context.Background(), false)
	if err != nil || len(removed) != 1 || removed[0] != adele {
		t.Fatalf("SignOut = %v, %v", removed, err)
	}
	c4, _ := f.client(t, false, nil)
	if names, _ := c4.Accounts(context.Background()); len(names) != 0 {
		t.Fatalf("accounts after sign-out: %v", names)
	}
}

// TestDeviceCode: the device-code grant with authorization_pending and slow_down until the
// user approves the code on the verification page.
func TestDeviceCode(t *testing.T) {
	f := newFixture(t)
	c, prompt := f.client(t, false, func(o *localauth.Options) { o.DeviceCode = true })
	done := make(chan struct{})
	go func() {
		defer close(done)
		var code string
		for code == "" {
			time.Sleep(20 * time.Millisecond)
			code = scripteduser.UserCode(prompt.String())
		}
		// Let MSAL poll (and be told to wait) before approving.
		for f.idp.PublicCounts().Polls < 3 {
			time.Sleep(20 * time.Millisecond)
		}
		user := scripteduser.User{Client: f.ca.HTTPClient(), UPN: adele, Password: adelePW}
		if err := user.ApproveDevice(context.Background(), f.idp.DeviceLoginURL(), code); err != nil {
			t.Errorf("approve: %v", err)
		}
	}()
	token(t, c, userRead)
	<-done
	pc := f.idp.PublicCounts()
	if pc.DeviceCodes != 1 || pc.SlowDown == 0 || pc.Pending+pc.SlowDown < 2 || f.idp.Counts().Authorize != 0 {
		t.Fatalf("public counts %+v; want one device code, polls answered slow_down/authorization_pending, no browser", pc)
	}
	if !strings.Contains(prompt.String(), f.idp.DeviceLoginURL()) {
		t.Fatalf("prompt %q does not name the verification URL", prompt.String())
	}
}

// TestBrowserFailureFallsBackToDeviceCode: no browser → device code.
func TestBrowserFailureFallsBackToDeviceCode(t *testing.T) {
	f := newFixture(t)
	c, prompt := f.client(t, false, func(o *localauth.Options) {
		o.OpenBrowser = func(string) error { return errors.New("no display") }
	})
	go func() {
		var code string
		for code == "" {
			time.Sleep(20 * time.Millisecond)
			code = scripteduser.UserCode(prompt.String())
		}
		user := scripteduser.User{Client: f.ca.HTTPClient(), UPN: adele, Password: adelePW}
		if err := user.ApproveDevice(context.Background(), f.idp.DeviceLoginURL(), code); err != nil {
			t.Errorf("approve: %v", err)
		}
	}()
	token(t, c, userRead)
	if !strings.Contains(prompt.String(), "using the device code flow instead") {
		t.Fatalf("prompt %q: want the fallback explained", prompt.String())
	}
}

// TestDeclinedConsent: a user who declines gets an error naming the permission and how to grant it.
func TestDeclinedConsent(t *testing.T) {
	f := newFixture(t)
	c, _ := f.client(t, true, func(o *localauth.Options) { o.GrantHint = "run `handler stdio login --scopes %s`" })
	_, err := c.Token(context.Background(), "", []string{calRead})
	var ce *localauth.ConsentError
	if !errors.As(err, &ce) || ce.Code != "AADSTS65004" ||
		!strings.Contains(err.Error(), "Calendars.Read") || !strings.Contains(err.Error(), "handler stdio login --scopes Calendars.Read") {
		t.Fatalf("err = %v; want a ConsentError naming Calendars.Read, AADSTS65004 and the grant command", err)
	}
	if len(f.idp.PublicConsent(adele)) != 0 {
		t.Fatal("a declined sign-in recorded consent")
	}
}

// TestDeviceCodeExpiredAndDeclined: expired_token and authorization_declined end the wait
// with an error rather than polling forever.
func TestDeviceCodeDeclined(t *testing.T) {
	f := newFixture(t)
	c, prompt := f.client(t, false, func(o *localauth.Options) { o.DeviceCode = true })
	go func() {
		var code string
		for code == "" {
			time.Sleep(20 * time.Millisecond)
			code = scripteduser.UserCode(prompt.String())
		}
		user := scripteduser.User{Client: f.ca.HTTPClient(), UPN: adele, Password: adelePW, Deny: true}
		if err := user.ApproveDevice(context.Background(), f.idp.DeviceLoginURL(), code); err != nil {
			t.Errorf("decline: %v", err)
		}
	}()
	_, err := c.Token(context.Background(), "", []string{userRead})
	var ce *localauth.ConsentError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "User.Read") {
		t.Fatalf("err = %v; want a ConsentError for User.Read", err)
	}
}

// TestUnreachableAuthority: no network to Entra → an error naming the authority, no prompt.
func TestUnreachableAuthority(t *testing.T) {
	port, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	authority := "https://127.0.0.1:" + strconv.Itoa(port) + "/" + entra.DefaultTenantID
	c, err := localauth.New(&localauth.Options{Authority: authority, ClientID: entra.DefaultPublicClientID,
		OpenBrowser: func(string) error { t.Error("a browser was opened although Entra is unreachable"); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Token(context.Background(), "", []string{userRead})
	if err == nil || !strings.Contains(err.Error(), "cannot reach Microsoft Entra at "+authority) {
		t.Fatalf("err = %v; want it to name the authority", err)
	}
}

// TestSeveralAccounts: with two accounts cached, a client must be told which one (--account);
// with it, it is silent for that account; sign-out removes only that one.
func TestSeveralAccounts(t *testing.T) {
	f := newFixture(t)
	const alex, alexPW = "alex@contoso.test", "alex-dev-password"
	a, _ := f.client(t, false, nil)
	token(t, a, userRead)
	b, _ := f.clientAs(t, alex, alexPW, false, func(o *localauth.Options) { o.Account = alex })
	token(t, b, userRead) // Alex is not in the cache yet: signs in, with a login hint
	if b.Prompts() != 1 {
		t.Fatalf("Alex's first sign-in: %d prompts", b.Prompts())
	}

	c, _ := f.client(t, false, nil)
	_, err := c.Token(context.Background(), "", []string{userRead})
	if err == nil || !strings.Contains(err.Error(), "several accounts (adele@contoso.test, alex@contoso.test); choose one with --account") || c.Prompts() != 0 {
		t.Fatalf("no --account with two cached: %v (%d prompts)", err, c.Prompts())
	}
	f.idp.ResetCounts()
	d, _ := f.client(t, false, func(o *localauth.Options) { o.Account = alex })
	token(t, d, userRead)
	if n := f.idp.Counts(); d.Prompts() != 0 || n.TokenRequests != 0 {
		t.Fatalf("--account alex: %d prompts, %d token requests; want silent", d.Prompts(), n.TokenRequests)
	}
	if removed, err := d.SignOut(context.Background(), false); err != nil || len(removed) != 1 || removed[0] != alex {
		t.Fatalf("SignOut = %v, %v", removed, err)
	}
	if names, _ := d.Accounts(context.Background()); len(names) != 1 || names[0] != adele {
		t.Fatalf("accounts after signing Alex out: %v", names)
	}
}
