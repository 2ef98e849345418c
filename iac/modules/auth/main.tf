# Cognito: users sign in through the hosted UI (authorization code + PKCE);
# the API verifies the RS256 JWTs against the pool's JWKS.
data "aws_region" "current" {}

resource "aws_cognito_user_pool" "this" {
  name                     = var.name
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  mfa_configuration        = "OPTIONAL"
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  admin_create_user_config {
    # Sign-up is by invitation; open it by setting this to false.
    allow_admin_create_user_only = true
  }

  tags = var.tags
}

# Analysts read every user's analytics (the API's AIORCH_AUTH_ANALYSTS_GROUP);
# without the group every signed-in user could (lambdas/api/context.py: Analyst).
resource "aws_cognito_user_group" "analysts" {
  name         = var.analysts_group
  user_pool_id = aws_cognito_user_pool.this.id
  description  = "May read the analytics of every user's executions."
}

# Operators see the workflow's inner workings: the web app's Ops view and the API route behind it
# (GET /image-ai-analysis/{id}/events, lambdas/api/routes/executions.py: current_operator). The API reads
# the group from the tokens' cognito:groups claim by this name (lambdas/api/auth.py: OPERATORS_GROUP).
resource "aws_cognito_user_group" "operators" {
  name         = "operators"
  user_pool_id = aws_cognito_user_pool.this.id
  description  = "May open the Ops view: each execution's state-by-state history."
}

resource "aws_cognito_user_pool_client" "spa" {
  name         = "${var.name}-spa"
  user_pool_id = aws_cognito_user_pool.this.id
  # A browser app cannot keep a secret: public client with PKCE.
  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = var.callback_urls
  logout_urls                          = var.logout_urls
  explicit_auth_flows                  = ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true
  access_token_validity                = var.access_token_validity_minutes
  id_token_validity                    = var.access_token_validity_minutes
  refresh_token_validity               = var.refresh_token_validity_days

  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}

resource "aws_cognito_user_pool_domain" "this" {
  domain       = var.domain_prefix
  user_pool_id = aws_cognito_user_pool.this.id
}
