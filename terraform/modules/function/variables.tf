variable "project_id" {
  description = "Google Cloud project that hosts the function."
  type        = string
}

variable "region" {
  description = "Region of the function, its Cloud Run service and its push subscription endpoint."
  type        = string
}

variable "name" {
  description = "Function name: also the folder under functions/ and the prefix of its service account (fn-<name>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,26}$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens, start with a letter, at most 27 characters (the service account id fn-<name> is limited to 30)."
  }
}

variable "description" {
  description = "Human-readable description shown in the console."
  type        = string
  default     = ""
}

variable "source_dir" {
  description = "Upload folder built by `supportsync package` (go.mod, the package, vendor/ with shared/). Zipped and uploaded under a content-hash name."
  type        = string
}

variable "build_dir" {
  description = "Local folder where the zip is written before upload."
  type        = string
}

variable "source_bucket" {
  description = "Name of the bucket that holds function source archives."
  type        = string
}

variable "build_service_account" {
  description = "Full id (projects/P/serviceAccounts/EMAIL) of the service account Cloud Build uses to build the function; null uses the project default."
  type        = string
  default     = null
}

variable "runtime" {
  description = "Cloud Functions runtime id. Must be >= the go directive of the function's go.mod (go126 for go 1.26.0)."
  type        = string
  default     = "go126"

  validation {
    condition     = can(regex("^go1[0-9]{2}$", var.runtime))
    error_message = "runtime must be a Go runtime id such as go126."
  }
}

variable "entry_point" {
  description = "Name the function registers in init() with functions.CloudEvent or functions.HTTP."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*$", var.entry_point))
    error_message = "entry_point must be a Go-style identifier."
  }
}

variable "memory" {
  description = "Memory per instance, e.g. 256Mi, 512Mi, 1Gi."
  type        = string
  default     = "256Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi|M|G)$", var.memory))
    error_message = "memory must look like 256Mi or 1Gi."
  }
}

variable "cpu" {
  description = "vCPUs per instance (available_cpu), e.g. \"0.167\" or \"1\"; null derives it from memory."
  type        = string
  default     = null
}

variable "timeout_seconds" {
  description = "Request timeout. Event-driven work must finish within 540 s; a push subscription's ack deadline should be >= this."
  type        = number

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 3600
    error_message = "timeout_seconds must be between 1 and 3600."
  }
}

variable "min_instance_count" {
  description = "Minimum warm instances. 0 = scale to zero (no idle billing)."
  type        = number
  default     = 0

  validation {
    condition     = var.min_instance_count >= 0
    error_message = "min_instance_count must be >= 0."
  }
}

variable "max_instance_count" {
  description = "Maximum instances. 1 together with concurrency 1 serializes every invocation."
  type        = number

  validation {
    condition     = var.max_instance_count >= 1 && var.max_instance_count <= 1000
    error_message = "max_instance_count must be between 1 and 1000."
  }
}

variable "concurrency" {
  description = "Concurrent requests per instance (max_instance_request_concurrency). Above 1 needs cpu >= 1."
  type        = number
  default     = 1

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "ingress_settings" {
  description = "ALLOW_INTERNAL_ONLY (Pub/Sub push, Scheduler in the same project), ALLOW_INTERNAL_AND_GCLB or ALLOW_ALL (public HTTP)."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress_settings)
    error_message = "ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "environment" {
  description = "Plain environment variables. Never put secrets here: use secret_environment or secret_files."
  type        = map(string)
  default     = {}
}

variable "secret_environment" {
  description = "Environment variables resolved from Secret Manager when an instance starts: NAME => {secret = secret id, version = pinned version number}. The function's service account gets secretAccessor on exactly these secrets."
  type = map(object({
    secret  = string
    version = string
  }))
  default = {}
}

variable "secret_files" {
  description = "Secrets mounted as files: key => {secret, version, path = absolute file path}. One secret per directory. The function's service account gets secretAccessor on exactly these secrets."
  type = map(object({
    secret  = string
    version = string
    path    = string
  }))
  default = {}

  validation {
    condition     = alltrue([for f in values(var.secret_files) : startswith(f.path, "/") && dirname(f.path) != "/"])
    error_message = "secret_files paths must be absolute and inside a directory, e.g. /etc/supportsync/team.yaml."
  }
}

variable "publish_topics" {
  description = "Topic ids (projects/P/topics/T) the function publishes to; it gets roles/pubsub.publisher on each topic, nothing project-wide."
  type        = list(string)
  default     = []
}

variable "project_roles" {
  description = "Project-level roles for the function's service account (e.g. roles/datastore.user). Basic roles are rejected."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.project_roles : !contains(["roles/owner", "roles/editor", "roles/viewer"], r)])
    error_message = "project_roles must not contain basic roles (owner, editor, viewer)."
  }
}

variable "push_subscription" {
  description = <<-EOT
    Optional push subscription that delivers a topic to this function (instead of an Eventarc trigger, so the
    dead-letter policy, retry backoff and ack deadline are ours). Legacy push body + OIDC token; the functions
    framework turns it into a CloudEvent. Fields:
      name, topic (id projects/P/topics/T), push_service_account (email that signs the OIDC token; gets run.invoker),
      ack_deadline_seconds (10-600), minimum_backoff / maximum_backoff (e.g. "10s" / "600s"),
      message_retention_duration (e.g. "604800s"),
      dead_letter_topic (id or null), max_delivery_attempts (5-100),
      pubsub_service_agent (service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com; gets subscriber on the
      subscription when dead-lettering is on — publisher on the dead-letter topic is granted once by the caller).
  EOT
  type = object({
    name                       = string
    topic                      = string
    push_service_account       = string
    ack_deadline_seconds       = number
    minimum_backoff            = string
    maximum_backoff            = string
    message_retention_duration = string
    dead_letter_topic          = optional(string)
    max_delivery_attempts      = optional(number, 5)
    pubsub_service_agent       = optional(string)
  })
  default = null

  validation {
    condition = var.push_subscription == null ? true : (
      var.push_subscription.ack_deadline_seconds >= 10 && var.push_subscription.ack_deadline_seconds <= 600 &&
      var.push_subscription.max_delivery_attempts >= 5 && var.push_subscription.max_delivery_attempts <= 100 &&
      (var.push_subscription.dead_letter_topic == null || var.push_subscription.pubsub_service_agent != null)
    )
    error_message = "push_subscription: ack_deadline_seconds 10-600, max_delivery_attempts 5-100, and pubsub_service_agent is required with a dead_letter_topic."
  }
}

variable "invokers" {
  description = "Extra members allowed to invoke the function's Cloud Run service (e.g. allUsers for a public widget API)."
  type        = list(string)
  default     = []
}

variable "labels" {
  description = "Labels on the function."
  type        = map(string)
  default     = {}
}

variable "iam_propagation_wait" {
  description = "How long the function waits after its own grants (secret accessor, project roles, publisher) before it is created: IAM is eventually consistent."
  type        = string
  default     = "30s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.iam_propagation_wait))
    error_message = "iam_propagation_wait must be a number of seconds such as \"30s\"."
  }
}
