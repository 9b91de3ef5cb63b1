-- wrk script: POST one small task per request.
wrk.method = "POST"
wrk.body = '{"title":"benchmark task","description":"made by wrk"}'
wrk.headers["Content-Type"] = "application/json"
