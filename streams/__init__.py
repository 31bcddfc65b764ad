"""The Faust stage: validates dossier events, keeps dossier state and followers, emits notifications."""
