# supportsync on Google Cloud: APIs, identities, topics, secrets, Firestore and the source
# bucket. The functions are in functions.tf, schedules in scheduler.tf, alerts in monitoring.tf.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Topic names the code uses (TOPIC_* defaults). One resource per name; the functions get
  # publisher on exactly the topics they publish to.
  # publish-dead-letter holds runs-completed messages publish gave up on: not replayed (the
  # next completed run publishes again), kept a week for diagnosis.
  topics = toset(["sync-tickets", "sync-chats", "raw-batches", "runs-completed", "dead-letter", "publish-dead-letter"])

  # Secret ids. The values come from variables and live in Secret Manager only.
  secrets = merge({
    hubspot_token = "hubspot-token"
    livechat_pat  = "livechat-pat"
    team_config   = "team-config"
    # widgetapi: the admin key (reads everything, mints embed tokens) and the embed-token
    # signing keys (id:secret[,id:secret], the first signs).
    widgetapi_admin_key    = "widgetapi-admin-key"
    widgetapi_signing_keys = "widgetapi-signing-keys"
    },
    # ask on the Gemini API (ask_backend = "gemini_api"): the API key, read by widgetapi only.
    # (A filtered for expression: a conditional between objects of different attributes is
    # a type error.)
    { for k, v in { gemini_api_key = "gemini-api-key" } : k => v if local.ask_gemini_api },
  )
  # The tokens are write-only (never in the plan or the state); a new value is applied by
  # raising its *_version variable. The team config is not secret, so Terraform keeps it and
  # rolls out a change on its own.
  # for_each iterates the versions (plain numbers): an ephemeral value may not decide which
  # resources exist, only fill a write-only argument.
  token_versions = merge({
    hubspot_token          = var.hubspot_token_version
    livechat_pat           = var.livechat_pat_version
    widgetapi_admin_key    = var.widgetapi_admin_key_version
    widgetapi_signing_keys = var.widgetapi_signing_keys_version
  }, { for k, v in { gemini_api_key = var.gemini_api_key_version } : k => v if local.ask_gemini_api })
  token_values = {
    hubspot_token          = var.hubspot_token
    livechat_pat           = var.livechat_pat
    widgetapi_admin_key    = var.widgetapi_admin_key
    widgetapi_signing_keys = var.widgetapi_signing_keys
    gemini_api_key         = var.gemini_api_key
  }

  # ask (POST /api/v1/ask on widgetapi): off, Vertex AI with widgetapi's own service account
  # (roles/aiplatform.user, no key), or the Gemini API with a key in Secret Manager. When on,
  # widgetapi also writes the daily ask budget (ask_budget/{day}) in Firestore.
  ask_on         = var.ask_backend != "off"
  ask_vertex     = var.ask_backend == "vertex"
  ask_gemini_api = var.ask_backend == "gemini_api"
  ask_secret_environment = {
    for k in(local.ask_gemini_api ? ["GEMINI_API_KEY"] : []) : k => {
      secret  = google_secret_manager_secret.this["gemini_api_key"].secret_id
      version = google_secret_manager_secret_version.token["gemini_api_key"].version
    }
  }

  team_config_file = "/etc/supportsync/team.yaml"
  # The Pub/Sub service agent, created by google_project_service_identity (a fresh project
  # may not have it yet, and grants to a missing account fail).
  pubsub_service_agent = google_project_service_identity.pubsub.email

  apis = toset(concat(local.ask_vertex ? ["aiplatform.googleapis.com"] : [], [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    # `supportsync check` impersonates fn-process (generateAccessToken) to read the sheet.
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "sheets.googleapis.com",
    "storage.googleapis.com",
  ]))
}

resource "google_project_service" "this" {
  for_each = local.apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# ---------------------------------------------------------------------------------------------
# Identities shared by all functions. Each function has its own runtime account (module).

# Signs the OIDC token of every push subscription; gets run.invoker on each pushed-to service.
resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "supportsync-push"
  display_name = "supportsync Pub/Sub push"
  description  = "Identity of the Pub/Sub push subscriptions that invoke the supportsync functions."

  depends_on = [google_project_service.this]
}

# Cloud Build identity for the function builds (instead of the default compute account).
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "supportsync-build"
  display_name = "supportsync function builds"
  description  = "Builds the supportsync functions' container images."

  depends_on = [google_project_service.this]
}

# ---------------------------------------------------------------------------------------------
# Source archives (one object per function and content hash).

resource "google_storage_bucket" "source" {
  project                     = var.project_id
  name                        = "${var.project_id}-supportsync-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  # The live archive of each function is never deleted (an age rule would delete it and every
  # later plan would upload it again). Terraform deletes an archive when a new build replaces
  # it; versioning keeps it as a noncurrent version for source_archive_retention_days, so the
  # previous build can still be inspected or restored (see README "Roll back").
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      with_state                 = "ARCHIVED"
      days_since_noncurrent_time = var.source_archive_retention_days
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.this]
}

# ---------------------------------------------------------------------------------------------
# Pub/Sub.

resource "google_pubsub_topic" "this" {
  for_each = local.topics

  project = var.project_id
  name    = each.value
  labels  = { app = "supportsync" }

  depends_on = [google_project_service.this]
}

# The Pub/Sub service agent (service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com). Google
# creates it lazily, so in a fresh project the grants below could name an account that does
# not exist yet; this creates it first. Beta-only resource; destroying it is a no-op.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.this]
}

# Pub/Sub forwards undeliverable raw batches to dead-letter as its service agent.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.this["dead-letter"].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${local.pubsub_service_agent}"
}

# Pub/Sub forwards runs-completed messages publish kept failing on to publish-dead-letter.
resource "google_pubsub_topic_iam_member" "publish_dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.this["publish-dead-letter"].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${local.pubsub_service_agent}"
}

# Dead-lettered publish triggers, kept a week for diagnosis (never replayed: obsolete once the
# next run completes and publishes).
resource "google_pubsub_subscription" "publish_dead_letter" {
  project                    = var.project_id
  name                       = "publish-dead-letter-inspect"
  topic                      = google_pubsub_topic.this["publish-dead-letter"].id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
}

# Dead-lettered batches wait here for `supportsync replay` (pull; never expires). The ack
# deadline is Pub/Sub's minimum: a message someone pulled to look at (gcloud pull without
# --auto-ack, `supportsync replay --peek`) is back after 10 s, well inside replay's idle wait
# (30 s). The replay client extends the deadline while it republishes.
resource "google_pubsub_subscription" "dead_letter_replay" {
  project                    = var.project_id
  name                       = "dead-letter-replay"
  topic                      = google_pubsub_topic.this["dead-letter"].id
  ack_deadline_seconds       = 10
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
}

# ---------------------------------------------------------------------------------------------
# Secrets. Each function mounts only the secrets it reads and the module grants it accessor on
# exactly those (secret-level, never project-level).

resource "google_secret_manager_secret" "this" {
  for_each = local.secrets

  project   = var.project_id
  secret_id = each.value
  labels    = { app = "supportsync" }

  replication {
    auto {}
  }

  depends_on = [google_project_service.this]
}

# The tokens: write-only, so the value passes from the (ephemeral) variable to Secret Manager
# and is stored in neither the plan nor the state. Rotation: set the new token and raise
# hubspot_token_version / livechat_pat_version; the version is replaced (new one first), and
# the functions, which pin the version number, roll out a revision that reads it.
resource "google_secret_manager_secret_version" "token" {
  for_each = local.token_versions

  secret                 = google_secret_manager_secret.this[each.key].id
  secret_data_wo         = local.token_values[each.key]
  secret_data_wo_version = each.value

  lifecycle {
    create_before_destroy = true
  }
}

# The team config (not secret: names, aliases, hours) is kept by Terraform, so editing the
# YAML and applying rolls it out without a version variable.
resource "google_secret_manager_secret_version" "team_config" {
  secret      = google_secret_manager_secret.this["team_config"].id
  secret_data = file(var.team_config_path)

  lifecycle {
    create_before_destroy = true
  }
}

# ---------------------------------------------------------------------------------------------
# Firestore (native mode, the (default) database). If it already exists:
#   terraform import google_firestore_database.default "projects/PROJECT/databases/(default)"

resource "google_firestore_database" "default" {
  project                 = var.project_id
  name                    = "(default)"
  location_id             = coalesce(var.firestore_location, var.region)
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  depends_on = [google_project_service.this]
}

# `supportsync status` lists a source's runs newest first: runs where source == S order by
# started desc, which needs this composite index.
resource "google_firestore_index" "runs_by_source" {
  project    = var.project_id
  database   = google_firestore_database.default.name
  collection = "runs"

  fields {
    field_path = "source"
    order      = "ASCENDING"
  }
  fields {
    field_path = "started"
    order      = "DESCENDING"
  }
}
