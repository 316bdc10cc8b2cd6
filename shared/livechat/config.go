package livechat

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Agents lists the human agents (configuration/action/list_agents), suspended ones included.
func (c *Client) Agents(ctx context.Context) ([]Agent, error) {
	var out []Agent
	body := map[string]any{"fields": []string{"job_title", "groups", "suspended"}}
	if err := c.call(ctx, "configuration", "list_agents", body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Bots lists every bot (configuration/action/list_bots with all:true: without it, bots
// created by other apps such as ChatBot are missing).
func (c *Client) Bots(ctx context.Context) ([]Bot, error) {
	var out []Bot
	body := map[string]any{"all": true, "fields": []string{"job_title", "groups"}}
	if err := c.call(ctx, "configuration", "list_bots", body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Groups lists the agent groups (configuration/action/list_groups).
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	var out []Group
	if err := c.call(ctx, "configuration", "list_groups", map[string]any{}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Check tests the connection, the credentials and every scope the sync needs
// (chats--all:ro, agents--all:ro, agents-bot--all:ro, groups--all:ro) with one cheap call
// each, and reports every failure at once.
func (c *Client) Check(ctx context.Context) error {
	var errs []error
	now := time.Now()
	if _, err := c.ListArchives(ctx, ArchivesQuery{From: now.Add(-24 * time.Hour), To: now, Limit: 1}); err != nil {
		errs = append(errs, err)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Type == "authentication" {
			// Every other call would fail the same way.
			return fmt.Errorf("livechat check: %w", err)
		}
	}
	if _, err := c.Agents(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.Bots(ctx); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.Groups(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("livechat check: %w", err)
	}
	return nil
}
