package bus

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
)

// Replay republishes messages from sub to topic (data and attributes as they are) until limit
// messages have moved or none arrived for idle, acking each only after its copy is published.
// It returns how many moved.
func Replay(ctx context.Context, sub *pubsub.Subscriber, pub *Publisher, topic string, limit int, idle time.Duration) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var n atomic.Int64
	last := atomic.Int64{}
	last.Store(time.Now().UnixNano())
	go func() {
		for ctx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
			if time.Since(time.Unix(0, last.Load())) > idle || int(n.Load()) >= limit {
				cancel()
			}
		}
	}()
	var firstErr atomic.Value
	sub.ReceiveSettings.MaxOutstandingMessages = 1
	err := sub.Receive(ctx, func(ctx context.Context, m *pubsub.Message) {
		last.Store(time.Now().UnixNano())
		if int(n.Load()) >= limit {
			m.Nack()
			return
		}
		if _, err := pub.Publish(ctx, topic, m.Data, m.Attributes); err != nil {
			firstErr.CompareAndSwap(nil, err)
			m.Nack()
			cancel()
			return
		}
		m.Ack()
		n.Add(1)
	})
	if e, ok := firstErr.Load().(error); ok {
		return int(n.Load()), e
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return int(n.Load()), fmt.Errorf("receive: %w", err)
	}
	return int(n.Load()), nil
}
