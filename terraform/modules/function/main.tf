# One call of this module = one Cloud Function (2nd gen) with its own service account, its
# source uploaded under a content-hash name, and optionally the push subscription that feeds it.

locals {
  # Content hash of the upload folder: sha256 over "<relative path> <sha256 of file>" lines,
  # sorted by path. `supportsync package` prints the same hash, so the object name tells which
  # build is deployed, and any code or dependency change gives a new object and a new build.
  source_files = sort(fileset(var.source_dir, "**"))
  source_hash  = sha256(join("\n", [for f in local.source_files : "${f} ${filesha256("${var.source_dir}/${f}")}"]))

  # Every secret this function reads, and nothing else, gets an accessor binding for its account.
  secrets = toset(concat(
    [for s in values(var.secret_environment) : s.secret],
    [for f in values(var.secret_files) : f.secret],
  ))

  push = { for k, p in { this = var.push_subscription } : k => p if p != null }
  dead_letter = {
    for k, p in local.push : k => p if p.dead_letter_topic != null
  }
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = var.source_dir
  output_path = "${var.build_dir}/${var.name}.zip"

  lifecycle {
    precondition {
      condition     = fileexists("${var.source_dir}/go.mod") && fileexists("${var.source_dir}/vendor/modules.txt")
      error_message = "${var.source_dir} is not a packaged function: run `go run ./cmd/supportsync package` at the repository root first."
    }
  }
}

resource "google_storage_bucket_object" "source" {
  name   = "functions/${var.name}-${local.source_hash}.zip"
  bucket = var.source_bucket
  source = data.archive_file.source.output_path
}

resource "google_service_account" "fn" {
  project      = var.project_id
  account_id   = "fn-${var.name}"
  display_name = "supportsync function ${var.name}"
  description  = "Runtime identity of the ${var.name} function; holds only what it needs."
}

resource "google_project_iam_member" "fn" {
  for_each = toset(var.project_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.fn.member
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = toset(var.publish_topics)

  project = var.project_id
  topic   = each.value
  role    = "roles/pubsub.publisher"
  member  = google_service_account.fn.member
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = local.secrets

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.fn.member
}

resource "google_cloudfunctions2_function" "this" {
  project     = var.project_id
  name        = var.name
  location    = var.region
  description = var.description
  labels      = merge(var.labels, { app = "supportsync", function = var.name })

  build_config {
    runtime         = var.runtime
    entry_point     = var.entry_point
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = var.source_bucket
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = var.memory
    available_cpu                    = var.cpu
    timeout_seconds                  = var.timeout_seconds
    min_instance_count               = var.min_instance_count
    max_instance_count               = var.max_instance_count
    max_instance_request_concurrency = var.concurrency
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.fn.email
    environment_variables            = var.environment

    dynamic "secret_environment_variables" {
      for_each = var.secret_environment
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }

    dynamic "secret_volumes" {
      for_each = var.secret_files
      content {
        mount_path = dirname(secret_volumes.value.path)
        project_id = var.project_id
        secret     = secret_volumes.value.secret
        versions {
          version = secret_volumes.value.version
          path    = basename(secret_volumes.value.path)
        }
      }
    }
  }

  # A deployment whose service account cannot read its secrets fails, so grant first, and
  # wait until the grants have propagated (IAM is eventually consistent).
  depends_on = [time_sleep.grants]
}

resource "time_sleep" "grants" {
  create_duration = var.iam_propagation_wait

  depends_on = [
    google_secret_manager_secret_iam_member.accessor,
    google_project_iam_member.fn,
    google_pubsub_topic_iam_member.publisher,
  ]
}

# Pub/Sub push requests carry an OIDC token of the push service account; Cloud Run checks it.
resource "google_cloud_run_v2_service_iam_member" "push" {
  for_each = local.push

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${each.value.push_service_account}"
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = toset(var.invokers)

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}

resource "google_pubsub_subscription" "push" {
  for_each = local.push

  project                    = var.project_id
  name                       = each.value.name
  topic                      = "projects/${var.project_id}/topics/${each.value.topic}"
  ack_deadline_seconds       = each.value.ack_deadline_seconds
  message_retention_duration = each.value.message_retention_duration

  # Subscriptions expire after 31 idle days by default; ours must never disappear.
  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = each.value.minimum_backoff
    maximum_backoff = each.value.maximum_backoff
  }

  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter_topic == null ? [] : [each.value]
    content {
      dead_letter_topic     = "projects/${var.project_id}/topics/${dead_letter_policy.value.dead_letter_topic}"
      max_delivery_attempts = dead_letter_policy.value.max_delivery_attempts
    }
  }

  # Legacy (wrapped) push body; the path carries the topic so the functions framework sets the
  # CloudEvent source to //pubsub.googleapis.com/projects/P/topics/T.
  push_config {
    push_endpoint = "${google_cloudfunctions2_function.this.service_config[0].uri}/projects/${var.project_id}/topics/${each.value.topic}"

    oidc_token {
      service_account_email = each.value.push_service_account
      audience              = google_cloudfunctions2_function.this.service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.push]
}

# Dead-lettering: the Pub/Sub service agent must be able to ack on the source subscription
# (publisher on the dead-letter topic is granted once, by the caller).
resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = local.dead_letter

  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${each.value.pubsub_service_agent}"
}
