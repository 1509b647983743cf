@echo off
rem Nightly BEDROT Data Lake run for Windows Task Scheduler. Works from any working directory.
rem Extra arguments go to the runner: run_datalake_cron.bat --service metaads
setlocal
set "HERE=%~dp0"
if "%DATALAKE_ROOT%"=="" set "DATALAKE_ROOT=%HERE%.."
set "PY=%DATALAKE_PYTHON%"
if "%PY%"=="" if exist "%HERE%..\.venv\Scripts\python.exe" set "PY=%HERE%..\.venv\Scripts\python.exe"
if "%PY%"=="" set "PY=python"
"%PY%" "%HERE%run_datalake.py" %*
exit /b %ERRORLEVEL%
