// Package bolt is the embedded store.Store: one bbolt file on local disk. It is what the
// handler uses when no Cosmos endpoint is configured (local development, `make dev`, single
// instance deployments), and it survives restarts because every write is an fsynced bbolt
// transaction.
//
// Exactly-once consumption and refresh rotation are read-modify-write inside one bbolt
// read-write transaction; bbolt admits one writer at a time, so no two callers can both see a
// code before one of them deletes it.
//
// Expired records are treated as absent on read and deleted by a background sweep.
//
//	st, err := bolt.Open("/var/lib/graphmcp/state.db", nil)
//	if err != nil { ... }
//	defer st.Close()
package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"example.com/graphmcp/handler/store"
)

// Options tune the embedded store; nil means defaults.
type Options struct {
	// Now is the clock used for expiry. Default time.Now.
	Now func() time.Time
	// SweepInterval is how often expired records are deleted. Default 10 minutes; negative disables the sweep.
	SweepInterval time.Duration
	// LockTimeout bounds the wait for the file lock held by another process. Default 5 seconds.
	LockTimeout time.Duration
}

var (
	bucketClients      = []byte("clients")
	bucketTransactions = []byte("transactions")
	bucketCodes        = []byte("codes")
	bucketFamilies     = []byte("families")
	allBuckets         = [][]byte{bucketClients, bucketTransactions, bucketCodes, bucketFamilies}
)

// Store is the bbolt implementation of store.Store.
type Store struct {
	db   *bbolt.DB
	now  func() time.Time
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the state file at path, with its parent directory.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = 10 * time.Minute
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 5 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state store: create directory for STATE_FILE %s: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: o.LockTimeout})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return nil, fmt.Errorf("state store: %s is locked by another process; stop it or set STATE_FILE to another path", path)
		}
		return nil, fmt.Errorf("state store: open %s: %w (set STATE_FILE to a writable path)", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state store: initialise %s: %w", path, err)
	}
	s := &Store{db: db, now: o.Now, stop: make(chan struct{})}
	if o.SweepInterval > 0 {
		s.done.Go(func() { s.sweepLoop(o.SweepInterval) })
	}
	return s, nil
}

func (s *Store) nowUnix() store.Time { return store.Unix(s.now()) }

// Close stops the sweep and closes the file.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		s.done.Wait()
		err = s.db.Close()
	})
	return err
}

// Ping reports whether the file is open.
func (s *Store) Ping(context.Context) error {
	if err := s.db.View(func(*bbolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	return nil
}

// expiring is what every record type offers to the generic helpers.
type expiring interface{ expiry() store.Time }

type clientRec store.Client
type txRec store.Transaction
type codeRec store.Code
type familyRec store.Family

func (r *clientRec) expiry() store.Time { return r.ExpiresAt }
func (r *txRec) expiry() store.Time     { return r.ExpiresAt }
func (r *codeRec) expiry() store.Time   { return r.ExpiresAt }
func (r *familyRec) expiry() store.Time { return r.ExpiresAt }

func wrap(err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrReuse) || errors.Is(err, store.ErrRevoked) || errors.Is(err, store.ErrMismatch) ||
		errors.Is(err, store.ErrResourceMismatch) {
		return err
	}
	return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
}

// create stores v under key unless a live record is there.
func (s *Store) create(bucket []byte, key string, v expiring) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	now := s.nowUnix()
	return wrap(s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if old := b.Get([]byte(key)); old != nil {
			var probe struct {
				ExpiresAt store.Time `json:"expires_at"`
			}
			if json.Unmarshal(old, &probe) != nil || !store.Expired(probe.ExpiresAt, now) {
				return store.ErrConflict
			}
		}
		return b.Put([]byte(key), data)
	}))
}

// get reads a live record into v.
func get[T expiring](s *Store, bucket []byte, key string, v T) error {
	now := s.nowUnix()
	return wrap(s.db.View(func(tx *bbolt.Tx) error {
		return load(tx.Bucket(bucket), key, v, now)
	}))
}

func load(b *bbolt.Bucket, key string, v expiring, now store.Time) error {
	data := b.Get([]byte(key))
	if data == nil {
		return store.ErrNotFound
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("corrupt record: %w", err)
	}
	if store.Expired(v.expiry(), now) {
		return store.ErrNotFound
	}
	return nil
}

// consume reads and deletes a live record in one transaction.
func consume[T expiring](s *Store, bucket []byte, key string, v T) error {
	now := s.nowUnix()
	return wrap(s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		err := load(b, key, v, now)
		if errors.Is(err, store.ErrNotFound) && b.Get([]byte(key)) != nil {
			_ = b.Delete([]byte(key)) // expired: tidy up now rather than at the next sweep
		}
		if err != nil {
			return err
		}
		return b.Delete([]byte(key))
	}))
}

// update applies fn to a live record and, when fn says so, writes it back, all in one
// transaction. fn's error is returned after the commit: bbolt rolls back whenever the
// transaction function fails, and a decision such as "reuse → revoke the family" must be
// persisted together with the error it reports.
func update[T expiring](s *Store, bucket []byte, key string, v T, fn func() (write bool, err error)) error {
	now := s.nowUnix()
	var decided error
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if err := load(b, key, v, now); err != nil {
			return err
		}
		write, ferr := fn()
		decided = ferr
		if !write {
			return nil
		}
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), data)
	})
	if err != nil {
		return wrap(err)
	}
	return decided
}

func (s *Store) CreateClient(_ context.Context, c *store.Client) error {
	return s.create(bucketClients, c.ClientID, (*clientRec)(c))
}

func (s *Store) GetClient(_ context.Context, id string) (*store.Client, error) {
	var r clientRec
	if err := get(s, bucketClients, id, &r); err != nil {
		return nil, err
	}
	return (*store.Client)(&r), nil
}

func (s *Store) ExtendClient(_ context.Context, id string, expiresAt store.Time) error {
	var r clientRec
	return update(s, bucketClients, id, &r, func() (bool, error) {
		if expiresAt <= r.ExpiresAt {
			return false, nil
		}
		r.ExpiresAt = expiresAt
		return true, nil
	})
}

func (s *Store) CreateTransaction(_ context.Context, t *store.Transaction) error {
	return s.create(bucketTransactions, t.ID, (*txRec)(t))
}

func (s *Store) ConsumeTransaction(_ context.Context, id string) (*store.Transaction, error) {
	var r txRec
	if err := consume(s, bucketTransactions, id, &r); err != nil {
		return nil, err
	}
	return (*store.Transaction)(&r), nil
}

func (s *Store) CreateCode(_ context.Context, c *store.Code) error {
	return s.create(bucketCodes, c.Hash, (*codeRec)(c))
}

func (s *Store) ConsumeCode(_ context.Context, hash string) (*store.Code, error) {
	var r codeRec
	if err := consume(s, bucketCodes, hash, &r); err != nil {
		return nil, err
	}
	return (*store.Code)(&r), nil
}

func (s *Store) CreateFamily(_ context.Context, f *store.Family) error {
	return s.create(bucketFamilies, f.ID, (*familyRec)(f))
}

func (s *Store) GetFamily(_ context.Context, id string) (*store.Family, error) {
	var r familyRec
	if err := get(s, bucketFamilies, id, &r); err != nil {
		return nil, err
	}
	return (*store.Family)(&r), nil
}

func (s *Store) RotateFamily(_ context.Context, rot store.Rotation) (*store.Family, error) {
	var r familyRec
	var result *store.Family
	err := update(s, bucketFamilies, rot.FamilyID, &r, func() (bool, error) {
		next, write, err := store.RotateInPlace((*store.Family)(&r), rot)
		result = next
		return write, err
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

func (s *Store) UpdateFamilyPayload(_ context.Context, id, handleHash, clientID, payload string) error {
	var r familyRec
	return update(s, bucketFamilies, id, &r, func() (bool, error) {
		err := store.ApplyPayloadUpdate((*store.Family)(&r), handleHash, clientID, payload, s.nowUnix())
		return err == nil, err
	})
}

func (s *Store) ReleaseRotation(_ context.Context, id, handleHash, clientID string) error {
	var r familyRec
	return update(s, bucketFamilies, id, &r, func() (bool, error) {
		return store.ApplyRelease((*store.Family)(&r), handleHash, clientID, s.nowUnix())
	})
}

func (s *Store) RevokeFamily(_ context.Context, id string) error {
	var r familyRec
	err := update(s, bucketFamilies, id, &r, func() (bool, error) {
		return store.ApplyRevocation((*store.Family)(&r), s.nowUnix()), nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Sweep deletes every expired record now. The background loop calls it periodically.
func (s *Store) Sweep() error {
	now := s.nowUnix()
	return wrap(s.db.Update(func(tx *bbolt.Tx) error {
		for _, name := range allBuckets {
			b := tx.Bucket(name)
			var expired [][]byte
			err := b.ForEach(func(k, v []byte) error {
				var probe struct {
					ExpiresAt store.Time `json:"expires_at"`
				}
				if json.Unmarshal(v, &probe) == nil && store.Expired(probe.ExpiresAt, now) {
					expired = append(expired, append([]byte(nil), k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			// Deleting while iterating makes bbolt cursors skip keys, so collect first.
			for _, k := range expired {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

func (s *Store) sweepLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_ = s.Sweep() // best effort: reads ignore expired records anyway
		}
	}
}
