module supportsync.dev/functions/fetchtickets

go 1.26.0

require supportsync.dev/shared v0.0.0

replace supportsync.dev/shared => ../../shared
