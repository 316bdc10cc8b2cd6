package app

import (
	"context"
	"fmt"

	"supportsync.dev/shared/config"
	"supportsync.dev/shared/fetch"
	"supportsync.dev/shared/livechat"
	"supportsync.dev/shared/secrets"
)

// NewChatsFetch builds the fetchchats service from the environment. Its incremental runs
// re-read LIVECHAT_LOOKBACK_HOURS before the cursor: list_archives filters by thread start, so
// only a long look-back sees a rating given after an older thread ended.
func NewChatsFetch(ctx context.Context, getenv func(string) string) (*Fetch, error) {
	cfg, err := config.Load(getenv, config.NeedLiveChat|config.NeedPubSub|config.NeedFirestore)
	if err != nil {
		return nil, err
	}
	log := Logger(cfg)
	pat, err := secrets.NewResolver().Resolve(ctx, cfg.LiveChatPAT, cfg.LiveChatPATSecret)
	if err != nil {
		return nil, fmt.Errorf("livechat pat: %w", err)
	}
	lc, err := livechat.NewClient(livechat.WithBaseURL(cfg.LiveChatBaseURL), livechat.WithHTTPClient(httpClient),
		livechat.WithCredentials(cfg.LiveChatAccountID, pat), livechat.WithRatePerMinute(cfg.LiveChatRatePerMinute),
		livechat.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("livechat.NewClient: %w", err)
	}
	return newFetch(ctx, cfg, log, &fetch.Chats{Client: lc}, cfg.TopicSyncChats, cfg.LiveChatLookback)
}
