// Package cosmos is the Azure Cosmos DB store.Store, reached with azcosmos and an Entra
// credential (a managed identity in Azure; see NewCredential) — never an account key.
//
// Layout: one container per kind of record, partition key /id, so every operation is a point
// read or write on one logical partition:
//
//	clients          RFC 7591 registrations (sliding expiry of unused ones)
//	transactions     state toward Entra ID (≤ 10 min)
//	codes            authorization codes by SHA-256 (≤ 5 min)
//	refreshFamilies  refresh-token families
//
// Each item is {"id", "ttl", "rec": {...}}. Containers have DefaultTimeToLive = -1 (TTL on,
// per-item ttl) so Cosmos deletes expired items itself; the store also checks the record's
// expires_at on every read, because TTL deletion is lazy and the offline emulator has no TTL.
//
// Atomicity comes from ETags: consume = read, then delete with If-Match (exactly one deleter
// succeeds; the others get 412 or 404); rotate/extend = read, then replace with If-Match,
// re-reading on 412. A registration is one item, so it exists completely or not at all.
// 404/409/412 map to store errors; 429 and 5xx are retried with backoff by the pipeline (a 503
// on a create or replace also by the store itself: see retryWrite) and then reported as
// store.ErrUnavailable, as are transport failures and 401/403 (the identity
// lacks the "Cosmos DB Built-in Data Contributor" role).
//
//	cred, _ := cosmos.NewCredential(os.Getenv, "")
//	st, err := cosmos.New("https://acct.documents.azure.com:443/", cred, &cosmos.Options{Database: "mcpgateway"})
package cosmos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"example.com/graphmcp/handler/store"
)

// Container names (also created by infra/ Bicep).
const (
	ContainerClients      = "clients"
	ContainerTransactions = "transactions"
	ContainerCodes        = "codes"
	ContainerFamilies     = "refreshFamilies"
)

// Containers lists every container the store uses.
var Containers = []string{ContainerClients, ContainerTransactions, ContainerCodes, ContainerFamilies}

// Options tune the Cosmos store; nil means defaults.
type Options struct {
	// Database is the database id. Default "mcpgateway".
	Database string
	// CreateIfMissing creates the database and containers. In Azure, Bicep creates them and the
	// managed identity has data-plane rights only, so leave this off there (tests and dev only).
	CreateIfMissing bool
	// ClientOptions are passed to azcosmos (transport, extra policies). Retry defaults to
	// 4 retries with exponential backoff from 200 ms capped at 5 s when left zero.
	ClientOptions *azcosmos.ClientOptions
	// Now is the clock used for expiry. Default time.Now.
	Now func() time.Time
	// OpTimeout bounds every store operation, retries included. Default 10 s.
	OpTimeout time.Duration
}

// Store is the Cosmos DB implementation of store.Store.
type Store struct {
	client     *azcosmos.Client
	containers map[string]*azcosmos.ContainerClient
	now        func() time.Time
	opTimeout  time.Duration
}

var _ store.Store = (*Store)(nil)

// New connects to the account at endpoint. It makes no request unless CreateIfMissing is set.
func New(endpoint string, cred azcore.TokenCredential, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Database == "" {
		o.Database = "mcpgateway"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = 10 * time.Second
	}
	var co azcosmos.ClientOptions
	if o.ClientOptions != nil {
		co = *o.ClientOptions
	}
	if co.Retry.MaxRetries == 0 {
		co.Retry.MaxRetries = 4
	}
	if co.Retry.RetryDelay == 0 {
		co.Retry.RetryDelay = 200 * time.Millisecond
	}
	if co.Retry.MaxRetryDelay == 0 {
		co.Retry.MaxRetryDelay = 5 * time.Second
	}
	client, err := azcosmos.NewClient(endpoint, cred, &co)
	if err != nil {
		return nil, fmt.Errorf("state store: COSMOS_ENDPOINT %q: %w", endpoint, err)
	}
	s := &Store{client: client, containers: map[string]*azcosmos.ContainerClient{}, now: o.Now, opTimeout: o.OpTimeout}
	for _, name := range Containers {
		c, err := client.NewContainer(o.Database, name)
		if err != nil {
			return nil, err
		}
		s.containers[name] = c
	}
	if o.CreateIfMissing {
		ctx, cancel := context.WithTimeout(context.Background(), 4*o.OpTimeout)
		defer cancel()
		if err := s.createContainers(ctx, o.Database); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) createContainers(ctx context.Context, database string) error {
	_, err := s.client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: database}, nil)
	if err != nil && statusOf(err) != http.StatusConflict {
		return fmt.Errorf("state store: create database %s: %w", database, mapErr(err))
	}
	db, err := s.client.NewDatabase(database)
	if err != nil {
		return err
	}
	ttlOn := int32(-1) // TTL enabled, items carry their own ttl
	for _, name := range Containers {
		_, err := db.CreateContainer(ctx, azcosmos.ContainerProperties{
			ID:                     name,
			PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/id"}},
			DefaultTimeToLive:      &ttlOn,
		}, nil)
		if err != nil && statusOf(err) != http.StatusConflict {
			return fmt.Errorf("state store: create container %s: %w", name, mapErr(err))
		}
	}
	return nil
}

// Close releases the client.
func (s *Store) Close() error { s.client.Close(); return nil }

// Ping reads one (probably absent) item: any answer from Cosmos but an error status is fine.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	_, err := s.containers[ContainerClients].ReadItem(ctx, azcosmos.NewPartitionKeyString("ping"), "ping", nil)
	if err == nil || statusOf(err) == http.StatusNotFound {
		return nil
	}
	return mapErr(err)
}

func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTimeout)
}

func (s *Store) nowUnix() store.Time { return store.Unix(s.now()) }

// doc is the item shape: the record under "rec", plus what Cosmos itself reads.
type doc[T any] struct {
	ID  string `json:"id"`
	TTL int64  `json:"ttl"`
	Rec T      `json:"rec"`
}

// ttlFor turns an absolute expiry into Cosmos' relative ttl (seconds after the write),
// never below 1 (0 is invalid and -1 would mean "never").
func (s *Store) ttlFor(expiresAt store.Time) int64 {
	if expiresAt == 0 {
		return -1
	}
	return max(1, expiresAt-s.nowUnix())
}

func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

var errPrecondition = errors.New("cosmos: etag mismatch")

// mapErr turns azcosmos errors into store errors with advice a person can act on.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	switch st := statusOf(err); {
	case st == http.StatusNotFound:
		return store.ErrNotFound
	case st == http.StatusConflict:
		return store.ErrConflict
	case st == http.StatusPreconditionFailed:
		return errPrecondition
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return fmt.Errorf("%w: Cosmos DB refused the identity (HTTP %d): grant it the Cosmos DB Built-in Data Contributor role on the account", store.ErrUnavailable, st)
	case st == http.StatusTooManyRequests:
		return fmt.Errorf("%w: Cosmos DB is throttling (HTTP 429) after retries; retry later or raise the account's throughput", store.ErrUnavailable)
	case st >= 500:
		return fmt.Errorf("%w: Cosmos DB answered HTTP %d after retries", store.ErrUnavailable, st)
	case st != 0:
		return fmt.Errorf("%w: Cosmos DB answered HTTP %d", store.ErrUnavailable, st)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: request cancelled", store.ErrUnavailable)
	}
	return fmt.Errorf("%w: cannot reach Cosmos DB (check COSMOS_ENDPOINT and network access): %v", store.ErrUnavailable, err)
}

type expiring interface{ expiry() store.Time }

type clientRec store.Client
type txRec store.Transaction
type codeRec store.Code
type familyRec store.Family

func (r clientRec) expiry() store.Time { return r.ExpiresAt }
func (r txRec) expiry() store.Time     { return r.ExpiresAt }
func (r codeRec) expiry() store.Time   { return r.ExpiresAt }
func (r familyRec) expiry() store.Time { return r.ExpiresAt }

// read returns a live record and its ETag.
func read[T expiring](ctx context.Context, s *Store, container, id string) (T, azcore.ETag, error) {
	var zero T
	resp, err := s.containers[container].ReadItem(ctx, azcosmos.NewPartitionKeyString(id), id, nil)
	if err != nil {
		return zero, "", mapErr(err)
	}
	var d doc[T]
	if err := json.Unmarshal(resp.Value, &d); err != nil {
		return zero, "", fmt.Errorf("%w: corrupt item in %s: %v", store.ErrUnavailable, container, err)
	}
	if store.Expired(d.Rec.expiry(), s.nowUnix()) {
		return zero, resp.ETag, store.ErrNotFound
	}
	return d.Rec, resp.ETag, nil
}

func (s *Store) marshal(id string, expiresAt store.Time, rec any) ([]byte, error) {
	return json.Marshal(doc[any]{ID: id, TTL: s.ttlFor(expiresAt), Rec: rec})
}

// create writes a new item. An item that exists but has expired (TTL deletion is lazy, and
// absent in the emulator) is replaced, guarded by its ETag.
func create[T expiring](ctx context.Context, s *Store, container, id string, rec T) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	body, err := s.marshal(id, rec.expiry(), rec)
	if err != nil {
		return err
	}
	c := s.containers[container]
	pk := azcosmos.NewPartitionKeyString(id)
	retried, err := retryWrite(ctx, func() error { _, err := c.CreateItem(ctx, pk, body, nil); return err })
	if statusOf(err) != http.StatusConflict {
		return mapErr(err)
	}
	if retried && holds[T](ctx, s, container, id, body) {
		return nil // the 503 hid our own successful create
	}
	_, etag, rerr := read[T](ctx, s, container, id)
	switch {
	case rerr == nil:
		return store.ErrConflict // a live record holds the id
	case !errors.Is(rerr, store.ErrNotFound):
		return rerr
	case etag == "": // deleted between our create and read: try once more
		_, err = c.CreateItem(ctx, pk, body, nil)
		return mapErr(err)
	}
	_, err = c.ReplaceItem(ctx, pk, id, body, &azcosmos.ItemOptions{IfMatchEtag: &etag})
	if err = mapErr(err); errors.Is(err, errPrecondition) || errors.Is(err, store.ErrNotFound) {
		return store.ErrConflict // someone else took or removed it meanwhile
	}
	return err
}

// Write retries. azcosmos retries a 503 on a write only in another region (the write may have
// landed), so one transient 503 would fail the request. The writes here are idempotent by
// construction: a create has a fixed id (a repeat that finds the item answers 409) and a replace
// carries If-Match (a repeat after a landed write answers 412). So they are repeated after a
// 503, a bounded number of times with growing pauses, within the operation's deadline; a 409 or
// 412 after a repeat is then checked against the store ([holds]) to tell our own lost success
// from someone else's write. Deletes are not repeated: a repeat's 404 could not tell our
// consume from a concurrent one.
const (
	writeRetries    = 2
	writeRetryPause = 50 * time.Millisecond // then ×4
)

// retryWrite runs write, repeating it after a 503; retried reports whether it was repeated.
func retryWrite(ctx context.Context, write func() error) (retried bool, err error) {
	pause := writeRetryPause
	for attempt := 0; ; attempt++ {
		err = write()
		if statusOf(err) != http.StatusServiceUnavailable || attempt == writeRetries {
			return attempt > 0, err
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return attempt > 0, err
		}
		pause *= 4
	}
}

// holds reports whether the live item id is exactly the record in body (what we wrote).
func holds[T expiring](ctx context.Context, s *Store, container, id string, body []byte) bool {
	var mine doc[T]
	if err := json.Unmarshal(body, &mine); err != nil {
		return false
	}
	got, _, err := read[T](ctx, s, container, id)
	return err == nil && reflect.DeepEqual(got, mine.Rec)
}

func get[T expiring](ctx context.Context, s *Store, container, id string) (T, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rec, _, err := read[T](ctx, s, container, id)
	return rec, err
}

// consume reads a live record and deletes it with If-Match: of concurrent consumers only the
// first delete matches the ETag; the rest get 412 (or 404 once it is gone) → ErrNotFound.
func consume[T expiring](ctx context.Context, s *Store, container, id string) (T, error) {
	var zero T
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rec, etag, err := read[T](ctx, s, container, id)
	if err != nil {
		return zero, err
	}
	_, err = s.containers[container].DeleteItem(ctx, azcosmos.NewPartitionKeyString(id), id,
		&azcosmos.ItemOptions{IfMatchEtag: &etag})
	if err = mapErr(err); err != nil {
		if errors.Is(err, errPrecondition) {
			return zero, store.ErrNotFound
		}
		return zero, err
	}
	return rec, nil
}

// maxUpdateAttempts bounds optimistic-concurrency retries of one update.
const maxUpdateAttempts = 16

// update reads a live record, lets fn decide, and replaces it with If-Match, re-reading on
// 412. fn returns whether to write and the error to report (after the write, if any).
func update[T expiring](ctx context.Context, s *Store, container, id string, fn func(*T) (bool, error)) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	for range maxUpdateAttempts {
		rec, etag, err := read[T](ctx, s, container, id)
		if err != nil {
			return err
		}
		write, decided := fn(&rec)
		if !write {
			return decided
		}
		body, err := s.marshal(id, rec.expiry(), rec)
		if err != nil {
			return err
		}
		retried, err := retryWrite(ctx, func() error {
			_, err := s.containers[container].ReplaceItem(ctx, azcosmos.NewPartitionKeyString(id), id, body,
				&azcosmos.ItemOptions{IfMatchEtag: &etag})
			return err
		})
		switch err = mapErr(err); {
		case errors.Is(err, errPrecondition) && retried && holds[T](ctx, s, container, id, body):
			return decided // the 503 hid our own successful replace: deciding again would misjudge it
		case errors.Is(err, errPrecondition):
			continue // changed under us: decide again on the fresh record
		case err != nil:
			return err
		}
		return decided
	}
	return fmt.Errorf("%w: record %s in %s kept changing under concurrent updates", store.ErrUnavailable, id, container)
}

func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	return create(ctx, s, ContainerClients, c.ClientID, clientRec(*c))
}

func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	r, err := get[clientRec](ctx, s, ContainerClients, id)
	if err != nil {
		return nil, err
	}
	c := store.Client(r)
	return &c, nil
}

func (s *Store) ExtendClient(ctx context.Context, id string, expiresAt store.Time) error {
	return update(ctx, s, ContainerClients, id, func(r *clientRec) (bool, error) {
		if expiresAt <= r.ExpiresAt {
			return false, nil
		}
		r.ExpiresAt = expiresAt
		return true, nil
	})
}

func (s *Store) CreateTransaction(ctx context.Context, t *store.Transaction) error {
	return create(ctx, s, ContainerTransactions, t.ID, txRec(*t))
}

func (s *Store) ConsumeTransaction(ctx context.Context, id string) (*store.Transaction, error) {
	r, err := consume[txRec](ctx, s, ContainerTransactions, id)
	if err != nil {
		return nil, err
	}
	t := store.Transaction(r)
	return &t, nil
}

func (s *Store) CreateCode(ctx context.Context, c *store.Code) error {
	return create(ctx, s, ContainerCodes, c.Hash, codeRec(*c))
}

func (s *Store) ConsumeCode(ctx context.Context, hash string) (*store.Code, error) {
	r, err := consume[codeRec](ctx, s, ContainerCodes, hash)
	if err != nil {
		return nil, err
	}
	c := store.Code(r)
	return &c, nil
}

func (s *Store) CreateFamily(ctx context.Context, f *store.Family) error {
	return create(ctx, s, ContainerFamilies, f.ID, familyRec(*f))
}

func (s *Store) GetFamily(ctx context.Context, id string) (*store.Family, error) {
	r, err := get[familyRec](ctx, s, ContainerFamilies, id)
	if err != nil {
		return nil, err
	}
	f := store.Family(r)
	return &f, nil
}

func (s *Store) RotateFamily(ctx context.Context, rot store.Rotation) (*store.Family, error) {
	var result *store.Family
	err := update(ctx, s, ContainerFamilies, rot.FamilyID, func(r *familyRec) (bool, error) {
		next, write, err := store.RotateInPlace((*store.Family)(r), rot)
		result = next
		return write, err
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

func (s *Store) UpdateFamilyPayload(ctx context.Context, id, handleHash, clientID, payload string) error {
	return update(ctx, s, ContainerFamilies, id, func(r *familyRec) (bool, error) {
		err := store.ApplyPayloadUpdate((*store.Family)(r), handleHash, clientID, payload, s.nowUnix())
		return err == nil, err
	})
}

func (s *Store) ReleaseRotation(ctx context.Context, id, handleHash, clientID string) error {
	return update(ctx, s, ContainerFamilies, id, func(r *familyRec) (bool, error) {
		return store.ApplyRelease((*store.Family)(r), handleHash, clientID, s.nowUnix())
	})
}

func (s *Store) RevokeFamily(ctx context.Context, id string) error {
	err := update(ctx, s, ContainerFamilies, id, func(r *familyRec) (bool, error) {
		return store.ApplyRevocation((*store.Family)(r), s.nowUnix()), nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
