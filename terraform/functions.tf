# The functions. Adding one (publish, widgetapi) is one more `module` block like these: the
# module creates its service account, source upload, function, bindings and push subscription.

locals {
  # Settings every function reads.
  common_env = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    TEAM_CONFIG          = local.team_config_file
    RETENTION_DAYS       = tostring(var.retention_days)
    LEASE_MINUTES        = tostring(var.lease_minutes)
    LOG_LEVEL            = var.log_level
  }

  # Settings of the fetch functions (HubSpot tickets, LiveChat chats).
  fetch_env = {
    TOPIC_RAW_BATCHES    = google_pubsub_topic.this["raw-batches"].name
    LOOKBACK_MINUTES     = tostring(var.lookback_minutes)
    FETCH_BUDGET_SECONDS = tostring(min(var.fetch_budget_seconds, var.fetch_timeout_seconds - 60))
    BATCH_RECORDS        = tostring(var.batch_records)
    BATCH_SECONDS        = tostring(var.batch_seconds)
  }

  # team.yaml as a file (TEAM_CONFIG points at it), pinned to the version Terraform wrote.
  team_file = {
    team = {
      secret  = google_secret_manager_secret.this["team_config"].secret_id
      version = google_secret_manager_secret_version.team_config.version
      path    = local.team_config_file
    }
  }

  function_defaults = {
    project_id            = var.project_id
    region                = var.region
    source_bucket         = google_storage_bucket.source.name
    build_service_account = google_service_account.build.id
    build_dir             = "${path.root}/.build"
  }
}

# HubSpot tickets -> raw batches. Fed by our own push subscription on sync-tickets (scheduler
# requests and its own continuation messages).
module "fetchtickets" {
  source = "./modules/function"

  name                  = "fetchtickets"
  description           = "HubSpot tickets -> raw batches"
  entry_point           = "FetchTickets"
  source_dir            = "${var.dist_dir}/functions/fetchtickets"
  project_id            = local.function_defaults.project_id
  region                = local.function_defaults.region
  source_bucket         = local.function_defaults.source_bucket
  build_service_account = local.function_defaults.build_service_account
  build_dir             = local.function_defaults.build_dir

  runtime            = "go126"
  memory             = "512Mi"
  timeout_seconds    = var.fetch_timeout_seconds
  min_instance_count = 0
  max_instance_count = 3
  concurrency        = 1

  environment = merge(local.common_env, local.fetch_env, {
    HUBSPOT_API_BASE_URL           = var.hubspot_api_base_url
    HUBSPOT_RATE_PER_10S           = tostring(var.hubspot_rate_per_10s)
    HUBSPOT_SEARCH_RATE_PER_SECOND = tostring(var.hubspot_search_rate_per_second)
    TOPIC_SYNC_TICKETS             = google_pubsub_topic.this["sync-tickets"].name
  })
  secret_environment = {
    HUBSPOT_TOKEN = {
      secret  = google_secret_manager_secret.this["hubspot_token"].secret_id
      version = google_secret_manager_secret_version.token["hubspot_token"].version
    }
  }
  secret_files = local.team_file

  publish_topics = [
    google_pubsub_topic.this["raw-batches"].name,
    google_pubsub_topic.this["sync-tickets"].name,
  ]
  project_roles = ["roles/datastore.user"]

  # No dead-letter topic: a sync request that keeps failing is superseded by the next scheduled
  # run (the cursor only moves when a run fully landed), so it just ages out after a day.
  push_subscription = {
    name                       = "sync-tickets-fetchtickets"
    topic                      = google_pubsub_topic.this["sync-tickets"].name
    push_service_account       = google_service_account.push.email
    ack_deadline_seconds       = 600
    minimum_backoff            = "10s"
    maximum_backoff            = "600s"
    message_retention_duration = "86400s"
    dead_letter_topic          = null
  }

  depends_on = [google_project_service.this, google_firestore_database.default, time_sleep.iam_propagation]
}

# LiveChat chats -> raw batches. Fed by our own push subscription on sync-chats.
module "fetchchats" {
  source = "./modules/function"

  name                  = "fetchchats"
  description           = "LiveChat chats -> raw batches"
  entry_point           = "FetchChats"
  source_dir            = "${var.dist_dir}/functions/fetchchats"
  project_id            = local.function_defaults.project_id
  region                = local.function_defaults.region
  source_bucket         = local.function_defaults.source_bucket
  build_service_account = local.function_defaults.build_service_account
  build_dir             = local.function_defaults.build_dir

  runtime            = "go126"
  memory             = "512Mi"
  timeout_seconds    = var.fetch_timeout_seconds
  min_instance_count = 0
  max_instance_count = 3
  concurrency        = 1

  environment = merge(local.common_env, local.fetch_env, {
    LIVECHAT_API_BASE_URL    = var.livechat_api_base_url
    LIVECHAT_ACCOUNT_ID      = var.livechat_account_id
    LIVECHAT_RATE_PER_MINUTE = tostring(var.livechat_rate_per_minute)
    LIVECHAT_LOOKBACK_HOURS  = tostring(var.livechat_lookback_hours)
    TOPIC_SYNC_CHATS         = google_pubsub_topic.this["sync-chats"].name
  })
  secret_environment = {
    LIVECHAT_PAT = {
      secret  = google_secret_manager_secret.this["livechat_pat"].secret_id
      version = google_secret_manager_secret_version.token["livechat_pat"].version
    }
  }
  secret_files = local.team_file

  publish_topics = [
    google_pubsub_topic.this["raw-batches"].name,
    google_pubsub_topic.this["sync-chats"].name,
  ]
  project_roles = ["roles/datastore.user"]

  # No dead-letter topic, for the same reason as fetchtickets.
  push_subscription = {
    name                       = "sync-chats-fetchchats"
    topic                      = google_pubsub_topic.this["sync-chats"].name
    push_service_account       = google_service_account.push.email
    ack_deadline_seconds       = 600
    minimum_backoff            = "10s"
    maximum_backoff            = "600s"
    message_retention_duration = "86400s"
    dead_letter_topic          = null
  }

  depends_on = [google_project_service.this, google_firestore_database.default, time_sleep.iam_propagation]
}

# Raw batch -> rows in Sheets, run ledger and cursor in Firestore. One instance, so writes to the
# spreadsheet are serialized (Sheets has no row locking): the service lands one batch at a time
# behind a mutex, and the 8 concurrent requests per instance only let deliveries that arrive
# together wait their turn in the instance instead of being refused (429), which Pub/Sub would
# count as failed attempts towards dead-lettering. Concurrency above 1 needs a whole vCPU.
module "process" {
  source = "./modules/function"

  name                  = "process"
  description           = "Raw batches -> Google Sheets"
  entry_point           = "Process"
  source_dir            = "${var.dist_dir}/functions/process"
  project_id            = local.function_defaults.project_id
  region                = local.function_defaults.region
  source_bucket         = local.function_defaults.source_bucket
  build_service_account = local.function_defaults.build_service_account
  build_dir             = local.function_defaults.build_dir

  runtime            = "go126"
  memory             = "1Gi"
  timeout_seconds    = 540
  min_instance_count = 0
  max_instance_count = 1
  concurrency        = 8
  cpu                = "1"

  environment = merge(local.common_env, {
    SPREADSHEET_ID       = var.spreadsheet_id
    TOPIC_RUNS_COMPLETED = google_pubsub_topic.this["runs-completed"].name
    # The Go runtime collects harder near this, well inside the 1Gi instance (a 5,000-record
    # batch written while the next is decoded peaks at about 310-330 MiB), instead of letting
    # the heap grow into an OOM kill.
    GOMEMLIMIT = "768MiB"
  })
  secret_files = local.team_file

  publish_topics = [google_pubsub_topic.this["runs-completed"].name]
  project_roles  = ["roles/datastore.user"]

  # A batch that fails max_delivery_attempts times goes to dead-letter and never blocks the
  # others; `supportsync replay` sends it back once the cause is fixed.
  push_subscription = {
    name                       = "raw-batches-process"
    topic                      = google_pubsub_topic.this["raw-batches"].name
    push_service_account       = google_service_account.push.email
    ack_deadline_seconds       = 600
    minimum_backoff            = "10s"
    maximum_backoff            = "600s"
    message_retention_duration = "604800s"
    dead_letter_topic          = google_pubsub_topic.this["dead-letter"].name
    max_delivery_attempts      = var.max_delivery_attempts
    pubsub_service_agent       = local.pubsub_service_agent
  }

  depends_on = [google_project_service.this, google_firestore_database.default, google_pubsub_topic_iam_member.dead_letter_publisher, time_sleep.iam_propagation]
}

# Sheets -> the widget dataset in Firestore, after every completed run. One instance at a time
# (a lease in Firestore also serializes publishes); it reads the Tickets and Chats tabs with
# the spreadsheet shared as Viewer with its service account (output
# publish_service_account_email) and writes widgets/... in Firestore.
module "publish" {
  source = "./modules/function"

  name                  = "publish"
  description           = "Google Sheets -> widget dataset in Firestore"
  entry_point           = "Publish"
  source_dir            = "${var.dist_dir}/functions/publish"
  project_id            = local.function_defaults.project_id
  region                = local.function_defaults.region
  source_bucket         = local.function_defaults.source_bucket
  build_service_account = local.function_defaults.build_service_account
  build_dir             = local.function_defaults.build_dir

  runtime            = "go126"
  memory             = "1Gi"
  timeout_seconds    = 540
  min_instance_count = 0
  max_instance_count = 1
  concurrency        = 1

  environment = merge(local.common_env, {
    SPREADSHEET_ID = var.spreadsheet_id
    # 400,000 rows read in pages of 25,000 peak well under this.
    GOMEMLIMIT = "768MiB"
  })
  secret_files = local.team_file

  project_roles = ["roles/datastore.user"]

  # Bursts of completions collapse (a completion the dataset already reflects is skipped; one
  # that finds another publish running is retried with backoff). A trigger that keeps failing
  # goes to publish-dead-letter; the previous dataset keeps serving meanwhile.
  push_subscription = {
    name                       = "runs-completed-publish"
    topic                      = google_pubsub_topic.this["runs-completed"].name
    push_service_account       = google_service_account.push.email
    ack_deadline_seconds       = 600
    minimum_backoff            = "10s"
    maximum_backoff            = "300s"
    message_retention_duration = "86400s"
    dead_letter_topic          = google_pubsub_topic.this["publish-dead-letter"].name
    max_delivery_attempts      = var.max_delivery_attempts
    pubsub_service_agent       = local.pubsub_service_agent
  }

  depends_on = [google_project_service.this, google_firestore_database.default, google_pubsub_topic_iam_member.publish_dead_letter_publisher, time_sleep.iam_propagation]
}

# The widget API (HTTP): the one function browsers reach, so its ingress is public and anyone
# may invoke it; access is checked by the function itself (signed embed tokens, the admin key).
# It only reads Firestore (the published dataset, runs and cursors).
module "widgetapi" {
  source = "./modules/function"

  name                  = "widgetapi"
  description           = "Widget data, status and embed tokens (HTTP)"
  entry_point           = "WidgetAPI"
  source_dir            = "${var.dist_dir}/functions/widgetapi"
  project_id            = local.function_defaults.project_id
  region                = local.function_defaults.region
  source_bucket         = local.function_defaults.source_bucket
  build_service_account = local.function_defaults.build_service_account
  build_dir             = local.function_defaults.build_dir

  runtime            = "go126"
  memory             = "512Mi"
  cpu                = "1"
  timeout_seconds    = 60
  min_instance_count = 0
  max_instance_count = 10
  concurrency        = 40
  ingress_settings   = var.widgetapi_public ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
  invokers           = var.widgetapi_public ? ["allUsers"] : []

  environment = merge({
    GOOGLE_CLOUD_PROJECT      = var.project_id
    LOG_LEVEL                 = var.log_level
    WIDGETAPI_ALLOWED_ORIGINS = join(",", var.widgetapi_allowed_origins)
    WIDGETAPI_FRAME_ANCESTORS = join(",", var.widgetapi_frame_ancestors)
    WIDGETAPI_REFRESH_SECONDS = "5"
    WIDGETAPI_STALE_MINUTES   = tostring(var.widgetapi_stale_minutes)
    ASK_MODEL                 = var.ask_model
    ASK_DAILY_REQUESTS        = tostring(var.ask_daily_requests)
    ASK_DAILY_TOKENS          = tostring(var.ask_daily_tokens)
  }, { for k, v in { ASK_VERTEX_LOCATION = var.ask_vertex_location } : k => v if local.ask_vertex })
  secret_environment = merge({
    WIDGETAPI_ADMIN_KEY = {
      secret  = google_secret_manager_secret.this["widgetapi_admin_key"].secret_id
      version = google_secret_manager_secret_version.token["widgetapi_admin_key"].version
    }
    WIDGETAPI_SIGNING_KEYS = {
      secret  = google_secret_manager_secret.this["widgetapi_signing_keys"].secret_id
      version = google_secret_manager_secret_version.token["widgetapi_signing_keys"].version
    }
  }, local.ask_secret_environment)

  # Reads only, unless ask is on: its daily budget is a Firestore document (datastore.user),
  # and on Vertex AI the function's own account calls the model (aiplatform.user).
  project_roles = concat([local.ask_on ? "roles/datastore.user" : "roles/datastore.viewer"], local.ask_vertex ? ["roles/aiplatform.user"] : [])

  depends_on = [google_project_service.this, google_firestore_database.default, time_sleep.iam_propagation]
}
