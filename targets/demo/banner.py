"""What `make run` prints before serving: the demo logins and the documented curl."""


def banner(base_url):
    return f"""
Demo served at {base_url}  (clock pinned to 2024-08-30T09:21:43.741Z)

  admin            admin / admin                      {base_url}/admin/
  staff pages      staff50363 / staff50363            {base_url}/staff/
                   staff60001 / staff60001
  API tills        tillrustaging2 / tillrustaging2    (org 50363)
                   democoffee / democoffee            (org 60001, child of 50363)
                   unrelated / unrelated              (org 70001)
  OAuth client     key demo-key, secret demo-secret   (tillrustaging2)
  API docs         {base_url}/api/docs/

The documented response:
  curl -u tillrustaging2:tillrustaging2 \\
    -H 'DATA-SCOPE: SELF' -H 'DATA-SCOPE-ORG: 50363' \\
    '{base_url}/api_gateway/intouch-api-v3/v3.1/users/347286146/targetGroups?includeInactive=true'
"""
