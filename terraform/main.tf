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
  secrets = {
    hubspot_token = "hubspot-token"
    livechat_pat  = "livechat-pat"
    team_config   = "team-config"
    # widgetapi: the admin key (reads everything, mints embed tokens) and the embed-token
    # signing keys (id:secret[,id:secret], the first signs).
    widgetapi_admin_key    = "widgetapi-admin-key"
    widgetapi_signing_keys = "widgetapi-signing-keys"
  }
  secret_values = {
    hubspot_token          = var.hubspot_token
    livechat_pat           = var.livechat_pat
    team_config            = file(var.team_config_path)
    widgetapi_admin_key    = var.widgetapi_admin_key
    widgetapi_signing_keys = var.widgetapi_signing_keys
  }

  team_config_file     = "/etc/supportsync/team.yaml"
  pubsub_service_agent = "service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "sheets.googleapis.com",
    "storage.googleapis.com",
  ])
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

resource "google_project_iam_member" "build" {
  for_each = toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])

  project = var.project_id
  role    = each.value
  member  = google_service_account.build.member
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

  # Old archives are only needed to redeploy an old version; keep a month.
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket_iam_member" "build_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.build.member
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

# Dead-lettered batches wait here for `supportsync replay` (pull; never expires).
resource "google_pubsub_subscription" "dead_letter_replay" {
  project                    = var.project_id
  name                       = "dead-letter-replay"
  topic                      = google_pubsub_topic.this["dead-letter"].id
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

resource "google_secret_manager_secret_version" "this" {
  for_each = local.secrets

  secret      = google_secret_manager_secret.this[each.key].id
  secret_data = local.secret_values[each.key]

  # Rotation: a new value creates a new version first; the functions pin the version number,
  # so the same apply rolls out a new revision that reads it.
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
