"""How the API's authentication classes appear in the OpenAPI schema (drf-spectacular).

drf-spectacular's own extensions match DRF's BasicAuthentication and django-oauth-toolkit's
OAuth2Authentication exactly, not subclasses, so ours are described here. Imported from
`CustomersConfig.ready()`, which registers the extensions."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

TOKEN_HEADER = "X-CAP-API-OAUTH-TOKEN"


class ActorBasicScheme(OpenApiAuthenticationExtension):
    target_class = "customers.authentication.ActorBasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": (
                "`Authorization: Basic base64(username:password)` for a user linked to an Actor "
                "(a till). Clients of the original platform send md5(password) as the password."
            ),
        }


class ActorOAuth2Scheme(OpenApiAuthenticationExtension):
    """One class, three ways to present the same client-credentials access token (any one)."""

    target_class = "customers.authentication.ActorOAuth2Authentication"
    name = ["oauth2", "bearerAuth", "capOAuthToken"]

    def get_security_requirement(self, auto_schema):
        # The oauth2 requirement names the scope the operation needs (customers.permissions):
        # `read` for GET/HEAD/OPTIONS, `write` for the rest. A bearer or CAP-header token is the
        # same token, so the same scope applies (OpenAPI 3.0 lists scopes only for oauth2).
        from customers.permissions import required_scope

        scope = required_scope(auto_schema.method.upper())
        return [{name: [scope] if name == "oauth2" else []} for name in self.name]

    def get_security_definition(self, auto_schema):
        from oauth2_provider.scopes import get_scopes_backend

        return [
            {
                "type": "oauth2",
                "description": (
                    "Client credentials of an OAuth application bound to an Actor. The token is "
                    'also issued by POST /v3/oauth/token/generate {"key", "secret"}. Scopes are '
                    "enforced: `read` for GET operations, `write` for every other method (a token "
                    "without the scope is answered 403). /o/token/ grants the scopes asked for "
                    "(`scope=read`), both when none is asked; the platform endpoint grants both."
                ),
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": "/o/token/",
                        "scopes": get_scopes_backend().get_all_scopes(),
                    }
                },
            },
            {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer <accessToken>`.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": TOKEN_HEADER,
                "description": f"`{TOKEN_HEADER}: <accessToken>`, as the original platform accepts it.",
            },
        ]
