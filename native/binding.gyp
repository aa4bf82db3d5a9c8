{
  "targets": [
    {
      "target_name": "xtar_deflate",
      "sources": ["xtar_deflate.c"],
      "cflags": ["-O2", "-std=c99", "-Wall", "-Wextra"],
      "libraries": ["-ldeflate"]
    }
  ]
}
