package deploy

import "time"

// ReplayIdle is how long `supportsync replay` waits without a message before it stops. It is
// longer than the ack deadline of the dead-letter-replay subscription (terraform/main.tf), so
// messages someone pulled just before to look at (without acknowledging them) are delivered
// again in time and replayed; the Terraform tests check the two against each other.
const ReplayIdle = 30 * time.Second
