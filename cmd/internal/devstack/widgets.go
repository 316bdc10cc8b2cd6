package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"supportsync.dev/shared/secrets"
	"supportsync.dev/shared/widgetapi"
	"supportsync.dev/shared/widgetstore"
)

// widgetKeysFile keeps the keys devstack generated, so tokens it printed keep working across
// restarts.
const widgetKeysFile = "widgetapi-keys.json"

type widgetKeys struct {
	Admin   string `json:"admin"`
	Signing string `json:"signing"`
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// widgetKeys takes WIDGETAPI_ADMIN_KEY and WIDGETAPI_SIGNING_KEYS from the configuration, else
// from the data directory, else makes them and saves them there (mode 0600).
func (s *Stack) widgetKeys() error {
	if s.Env["WIDGETAPI_ADMIN_KEY"] != "" && s.Env["WIDGETAPI_SIGNING_KEYS"] != "" {
		return nil
	}
	path := filepath.Join(s.opts.DataDir, widgetKeysFile)
	var k widgetKeys
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &k); err != nil {
			return fmt.Errorf("%s: %w (delete it to make new keys)", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
	default:
		return err
	}
	if k.Admin == "" || k.Signing == "" {
		k = widgetKeys{Admin: randomHex(24), Signing: "dev1:" + randomHex(24)}
		b, _ := json.Marshal(k)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if s.Env["WIDGETAPI_ADMIN_KEY"] == "" {
		s.Env["WIDGETAPI_ADMIN_KEY"] = k.Admin
		s.adminKeyMade = true
	}
	if s.Env["WIDGETAPI_SIGNING_KEYS"] == "" {
		s.Env["WIDGETAPI_SIGNING_KEYS"] = k.Signing
	}
	return nil
}

// WidgetsURL is widgetapi's base URL.
func (s *Stack) WidgetsURL() string { return s.Env["FUNCTION_URL_WIDGETAPI"] }

// AdminKey is the widgetapi admin key the stack uses.
func (s *Stack) AdminKey() secrets.Secret { return secrets.Secret(s.Env["WIDGETAPI_ADMIN_KEY"]) }

// MintURL mints an embed token for widget through widgetapi and returns a working URL of its
// JSON data.
func (s *Stack) MintURL(ctx context.Context, widget string, filters map[string]string, ttl time.Duration) (string, error) {
	m, err := widgetapi.Mint(ctx, nil, s.WidgetsURL(), s.AdminKey(), widgetapi.MintRequest{Widget: widget, Filters: filters, TTL: ttl.String()})
	if err != nil {
		return "", err
	}
	return strings.TrimRight(s.WidgetsURL(), "/") + m.Path, nil
}

// MintPage mints an embed token for widget and returns the URL of its page (what an iframe
// embeds).
func (s *Stack) MintPage(ctx context.Context, widget string, ttl time.Duration) (string, error) {
	m, err := widgetapi.Mint(ctx, nil, s.WidgetsURL(), s.AdminKey(), widgetapi.MintRequest{Widget: widget, TTL: ttl.String()})
	if err != nil {
		return "", err
	}
	return strings.TrimRight(s.WidgetsURL(), "/") + m.Page, nil
}

// WaitPublished waits until the widget dataset reflects every run finished by after (publish
// read the sheet later), and returns its pointer.
func (s *Stack) WaitPublished(ctx context.Context, after time.Time, timeout time.Duration) (widgetstore.Pointer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	store := widgetstore.New(s.fs)
	for {
		p, err := store.Current(ctx)
		if err == nil && !p.ReadAt.Before(after) {
			return p, nil
		}
		if err != nil && !errors.Is(err, widgetstore.ErrNoDataset) && ctx.Err() == nil {
			return p, err
		}
		select {
		case <-ctx.Done():
			return p, fmt.Errorf("the widget dataset was not published within %s (see %s)", timeout, filepath.Join(s.opts.DataDir, "logs", "publish.log"))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
