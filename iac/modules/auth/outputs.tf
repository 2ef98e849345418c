output "user_pool_id" {
  description = "Cognito user pool id."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "Cognito user pool ARN."
  value       = aws_cognito_user_pool.this.arn
}

output "client_id" {
  description = "App client id: the JWT audience (AIORCH_AUTH_CLIENT_ID)."
  value       = aws_cognito_user_pool_client.spa.id
}

output "issuer" {
  description = "JWT issuer (AIORCH_AUTH_ISSUER)."
  value       = "https://cognito-idp.${data.aws_region.current.name}.amazonaws.com/${aws_cognito_user_pool.this.id}"
}

output "hosted_ui_url" {
  description = "Base URL of the hosted UI (AIORCH_AUTH_DOMAIN)."
  value       = "https://${aws_cognito_user_pool_domain.this.domain}.auth.${data.aws_region.current.name}.amazoncognito.com"
}

output "analysts_group" {
  description = "Name of the Cognito group that may read analytics."
  value       = aws_cognito_user_group.analysts.name
}

output "operators_group" {
  description = "Name of the Cognito group that may open the Ops view."
  value       = aws_cognito_user_group.operators.name
}

output "refresh_token_validity_days" {
  description = "Lifetime of the app client's refresh tokens, days (AIORCH_AUTH_REFRESH_TOKEN_DAYS: the API's refresh cookie lives as long)."
  value       = aws_cognito_user_pool_client.spa.refresh_token_validity
}

output "logout_urls" {
  description = "The app client's sign-out URLs (Cognito's /logout returns only to one of these)."
  value       = aws_cognito_user_pool_client.spa.logout_urls
}
